import type { Address, ChannelName } from '../../domain/order.js';
import { canonicalUuid } from '../../platform/ids.js';
import { MAX_LINE_QUANTITY } from '../../domain/order.js';
import { problems, type FieldError } from '../../platform/problem.js';
import { address, channel, clientId, currency, lineItems, mergedLineErrors, quantity, text, uuid } from './common.js';

export interface LineBody {
  readonly sku: string;
  readonly quantity: number;
}

export interface CartBody {
  readonly customer_id: string;
  readonly channel: ChannelName;
  readonly currency: string;
  readonly items: readonly LineBody[];
}

export const cartBody = {
  type: 'object',
  additionalProperties: false,
  required: ['customer_id', 'channel', 'currency', 'items'],
  properties: { customer_id: clientId, channel, currency, items: lineItems },
} as const;

export interface PlaceOrderBody {
  readonly cart_id?: string;
  readonly items?: readonly LineBody[];
  readonly customer_id: string;
  readonly channel: ChannelName;
  readonly external_order_id?: string;
  readonly currency?: string;
  readonly shipping_address: Address;
  readonly billing_address?: Address;
  readonly payment_method: { readonly type: 'card'; readonly token: string };
}

export const placeOrderBody = {
  type: 'object',
  additionalProperties: false,
  required: ['customer_id', 'channel', 'shipping_address', 'payment_method'],
  properties: {
    cart_id: uuid,
    items: lineItems,
    customer_id: clientId,
    channel,
    external_order_id: clientId,
    currency,
    shipping_address: address,
    billing_address: address,
    payment_method: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'token'],
      properties: {
        type: { type: 'string', enum: ['card'] },
        token: { ...text(128), pattern: '^[A-Za-z0-9_-]+$' },
      },
    },
  },
} as const;

/** The body with its cart id in canonical form (ids are compared as text downstream; platform/ids). */
export function canonicalPlacement(body: PlaceOrderBody): PlaceOrderBody {
  return body.cart_id === undefined ? body : { ...body, cart_id: canonicalUuid(body.cart_id) };
}

export const cartIdParams = {
  type: 'object',
  required: ['cart_id'],
  properties: { cart_id: uuid },
} as const;

export const orderIdParams = {
  type: 'object',
  required: ['order_id'],
  properties: { order_id: uuid },
} as const;

export interface CancelOrderBody {
  readonly reason?: string;
}

export const cancelOrderBody = {
  type: 'object',
  additionalProperties: false,
  properties: { reason: text(500) },
} as const;

export interface RefundBody {
  readonly items?: ReadonlyArray<{ readonly item_id: string; readonly quantity: number }>;
  readonly amount?: number;
  readonly reason: string;
}

export const refundBody = {
  type: 'object',
  additionalProperties: false,
  required: ['reason'],
  properties: {
    items: {
      type: 'array',
      minItems: 1,
      maxItems: 200,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['item_id', 'quantity'],
        properties: { item_id: uuid, quantity },
      },
    },
    amount: { type: 'integer', minimum: 1, maximum: 1_000_000_000_000 },
    reason: text(500),
  },
} as const;

export function canonicalRefund(body: RefundBody): RefundBody {
  if (body.items === undefined) return body;
  return { ...body, items: body.items.map((i) => ({ ...i, item_id: canonicalUuid(i.item_id) })) };
}

export interface ModifyOrderBody {
  readonly shipping_address?: Address;
  readonly items?: ReadonlyArray<
    { readonly item_id: string; readonly quantity: number } | { readonly sku: string; readonly quantity: number }
  >;
  /** Shorthands: lines to add, lines to remove (the same as `{ sku, quantity }` and `{ item_id, quantity: 0 }` in items). */
  readonly add_items?: ReadonlyArray<{ readonly sku: string; readonly quantity: number }>;
  readonly remove_items?: readonly string[];
}

export const modifyOrderBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    shipping_address: address,
    items: {
      type: 'array',
      minItems: 1,
      maxItems: 200,
      items: {
        oneOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['item_id', 'quantity'],
            properties: { item_id: uuid, quantity: { type: 'integer', minimum: 0, maximum: MAX_LINE_QUANTITY } },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['sku', 'quantity'],
            properties: { sku: clientId, quantity },
          },
        ],
      },
    },
    add_items: lineItems,
    remove_items: { type: 'array', minItems: 1, maxItems: 200, items: uuid },
  },
} as const;

export function canonicalEdit(body: ModifyOrderBody): ModifyOrderBody {
  return {
    ...body,
    ...(body.items === undefined
      ? {}
      : { items: body.items.map((i) => ('item_id' in i ? { ...i, item_id: canonicalUuid(i.item_id) } : i)) }),
    ...(body.remove_items === undefined ? {} : { remove_items: body.remove_items.map(canonicalUuid) }),
  };
}

/**
 * What the schema cannot say about an edit: SKUs named in `items` and `add_items` are merged (into
 * one new line, or onto the order's line of that SKU), so their sum must keep the per-line cap; and a
 * line may be named once, since two quantities for it would contradict each other.
 */
export function checkEdit(body: ModifyOrderBody): void {
  const skuLines = (body.items ?? []).flatMap((i) => ('sku' in i ? [i] : []));
  const errors: FieldError[] = mergedLineErrors(
    [...skuLines, ...(body.add_items ?? [])],
    skuLines.length > 0 ? '/items' : '/add_items',
  );
  const named = new Set<string>();
  const lineIds = [
    ...(body.items ?? []).flatMap((i, n) => ('item_id' in i ? [{ id: i.item_id, pointer: `/items/${n}/item_id` }] : [])),
    ...(body.remove_items ?? []).map((id, n) => ({ id, pointer: `/remove_items/${n}` })),
  ];
  for (const { id, pointer } of lineIds) {
    if (named.has(id)) errors.push({ pointer, detail: `names line ${id} again; name each line once` });
    named.add(id);
  }
  if (errors.length > 0) throw problems.validation(errors);
}
