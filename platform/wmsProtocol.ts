import { compileValidator } from './validation.js';

/**
 * The WMS protocol: what a WMS answers on the WMS topic, keyed by order id, one message per shipment
 * step with a stable `message_id` (`<shipment_id>:<step>`) for the receiver's inbox. The WMS sandbox
 * speaks it; so could an adapter for a real WMS.
 */
export interface WmsMessage {
  readonly message_id: string;
  readonly type: 'picked' | 'packed' | 'shipped' | 'cancelled';
  readonly shipment_id: string;
  readonly order_id: string;
  readonly warehouse_id: string;
  readonly occurred_at: string;
  readonly items?: ReadonlyArray<{ item_id: string; sku: string; quantity: number }>;
  readonly short?: ReadonlyArray<{ item_id: string; sku: string; quantity: number }>;
  readonly carrier?: string;
  readonly tracking_number?: string;
}

const units = {
  type: 'array',
  maxItems: 1000,
  items: {
    type: 'object',
    required: ['item_id', 'sku', 'quantity'],
    properties: {
      item_id: { type: 'string', format: 'uuid' },
      sku: { type: 'string', maxLength: 64 },
      quantity: { type: 'integer', minimum: 0 },
    },
  },
} as const;

/** Checked once, at the edge: the handlers trust the shape. */
export const validWmsMessage = compileValidator<WmsMessage>({
  type: 'object',
  required: ['message_id', 'type', 'shipment_id', 'order_id', 'warehouse_id', 'occurred_at'],
  properties: {
    message_id: { type: 'string', minLength: 1, maxLength: 200 },
    type: { type: 'string', enum: ['picked', 'packed', 'shipped', 'cancelled'] },
    shipment_id: { type: 'string', format: 'uuid' },
    order_id: { type: 'string', format: 'uuid' },
    warehouse_id: { type: 'string', maxLength: 64 },
    occurred_at: { type: 'string', format: 'date-time' },
    items: units,
    short: units,
    carrier: { type: 'string', minLength: 1, maxLength: 32 },
    tracking_number: { type: 'string', minLength: 1, maxLength: 64 },
  },
  if: { type: 'object', properties: { type: { const: 'shipped' } } },
  then: {
    type: 'object',
    required: ['carrier', 'tracking_number'],
    properties: { carrier: { type: 'string' }, tracking_number: { type: 'string' } },
  },
});
