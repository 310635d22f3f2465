import { clientId, currency, text } from './common.js';

export interface ProductBody {
  readonly name: string;
  readonly price: number;
  readonly currency: string;
  readonly weight_grams?: number;
}

export const productBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'price', 'currency'],
  properties: {
    name: text(200),
    price: { type: 'integer', minimum: 0, maximum: 1_000_000_000 },
    currency,
    weight_grams: { type: 'integer', minimum: 0, maximum: 10_000_000 },
  },
} as const;

export interface WarehouseBody {
  readonly name: string;
  readonly location: { readonly lat: number; readonly lon: number };
  readonly capacity_per_day: number;
  readonly carriers: readonly string[];
  readonly shipping_cost_per_kg?: number;
}

export const warehouseBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'location', 'capacity_per_day', 'carriers'],
  properties: {
    name: text(200),
    location: {
      type: 'object',
      additionalProperties: false,
      required: ['lat', 'lon'],
      properties: {
        lat: { type: 'number', minimum: -90, maximum: 90 },
        lon: { type: 'number', minimum: -180, maximum: 180 },
      },
    },
    capacity_per_day: { type: 'integer', minimum: 1, maximum: 10_000_000 },
    carriers: { type: 'array', maxItems: 20, uniqueItems: true, items: { type: 'string', pattern: '^[a-z0-9_-]{1,32}$' } },
    shipping_cost_per_kg: { type: 'integer', minimum: 0, maximum: 1_000_000 },
  },
} as const;

export interface InventoryBody {
  readonly on_hand: number;
}

export const inventoryBody = {
  type: 'object',
  additionalProperties: false,
  required: ['on_hand'],
  properties: { on_hand: { type: 'integer', minimum: 0, maximum: 100_000_000 } },
} as const;

export const skuParams = {
  type: 'object',
  required: ['sku'],
  properties: { sku: clientId },
} as const;

export const warehouseParams = {
  type: 'object',
  required: ['warehouse_id'],
  properties: { warehouse_id: clientId },
} as const;

export const inventoryParams = {
  type: 'object',
  required: ['warehouse_id', 'sku'],
  properties: { warehouse_id: clientId, sku: clientId },
} as const;
