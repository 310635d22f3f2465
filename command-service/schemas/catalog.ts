import { Type, type Static } from '@sinclair/typebox';
import { clientId, currency, text } from './common.js';

export const productBody = Type.Object(
  {
    name: text(200),
    price: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
    currency,
    weight_grams: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
  },
  { additionalProperties: false },
);
export type ProductBody = Static<typeof productBody>;

export const warehouseBody = Type.Object(
  {
    name: text(200),
    location: Type.Object(
      { lat: Type.Number({ minimum: -90, maximum: 90 }), lon: Type.Number({ minimum: -180, maximum: 180 }) },
      { additionalProperties: false },
    ),
    capacity_per_day: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
    carriers: Type.Array(Type.String({ pattern: '^[a-z0-9_-]{1,32}$' }), { maxItems: 20, uniqueItems: true }),
    shipping_cost_per_kg: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);
export type WarehouseBody = Static<typeof warehouseBody>;

export const inventoryBody = Type.Object(
  { on_hand: Type.Integer({ minimum: 0, maximum: 100_000_000 }) },
  { additionalProperties: false },
);
export type InventoryBody = Static<typeof inventoryBody>;

export const skuParams = Type.Object({ sku: clientId });
export const warehouseParams = Type.Object({ warehouse_id: clientId });
export const inventoryParams = Type.Object({ warehouse_id: clientId, sku: clientId });
