import { Type, type Static } from '@sinclair/typebox';
import { canonicalUuid } from '../../platform/ids.js';
import { MAX_LINE_QUANTITY } from '../../domain/order.js';
import { problems, type FieldError } from '../../platform/problem.js';
import {
  address,
  channel,
  clientId,
  currency,
  lineItems,
  mergedLineErrors,
  oneOf,
  quantity,
  stringEnum,
  text,
  uuid,
} from './common.js';

export type { LineBody } from './common.js';

export const cartBody = Type.Object(
  { customer_id: clientId, channel, currency, items: lineItems },
  { additionalProperties: false },
);
export type CartBody = Static<typeof cartBody>;

export const paymentMethod = Type.Object(
  {
    type: stringEnum(['card']),
    token: Type.String({ format: 'storable-text', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }),
  },
  { additionalProperties: false },
);

export const placeOrderBody = Type.Object(
  {
    cart_id: Type.Optional(uuid),
    items: Type.Optional(lineItems),
    customer_id: clientId,
    channel,
    external_order_id: Type.Optional(clientId),
    currency: Type.Optional(currency),
    shipping_address: address,
    billing_address: Type.Optional(address),
    payment_method: paymentMethod,
  },
  { additionalProperties: false },
);
export type PlaceOrderBody = Static<typeof placeOrderBody>;

/**
 * A point of sale's offline batch (contract §8): each order as POST /api/v1/orders takes it, with its
 * `external_order_id`. command-service/channelOrders checks a batch itself (each order is placed, or
 * refused, on its own); this is the shape the API description publishes.
 */
export const batchBody = Type.Object(
  {
    orders: Type.Array(
      Type.Object({ ...placeOrderBody.properties, external_order_id: clientId }, { additionalProperties: false }),
      { minItems: 1, maxItems: 500 },
    ),
  },
  { additionalProperties: false },
);

/** A marketplace's order webhook (contract §8): the order of POST /api/v1/orders with `external_order_id` required. */
export const marketplaceOrderBody = Type.Object(
  { ...placeOrderBody.properties, external_order_id: clientId },
  { additionalProperties: false },
);

/** The body with its cart id in canonical form (ids are compared as text downstream; platform/ids). */
export function canonicalPlacement(body: PlaceOrderBody): PlaceOrderBody {
  return body.cart_id === undefined ? body : { ...body, cart_id: canonicalUuid(body.cart_id) };
}

export const cartIdParams = Type.Object({ cart_id: uuid });
export const orderIdParams = Type.Object({ order_id: uuid });

export const cancelOrderBody = Type.Object({ reason: Type.Optional(text(500)) }, { additionalProperties: false });
export type CancelOrderBody = Static<typeof cancelOrderBody>;

export const refundBody = Type.Object(
  {
    items: Type.Optional(
      Type.Array(Type.Object({ item_id: uuid, quantity }, { additionalProperties: false }), { minItems: 1, maxItems: 200 }),
    ),
    amount: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000_000 })),
    reason: text(500),
  },
  { additionalProperties: false },
);
export type RefundBody = Static<typeof refundBody>;

export function canonicalRefund(body: RefundBody): RefundBody {
  if (body.items === undefined) return body;
  return { ...body, items: body.items.map((i) => ({ ...i, item_id: canonicalUuid(i.item_id) })) };
}

/** Shorthands: `add_items` and `remove_items` are the same as `{ sku, quantity }` and `{ item_id, quantity: 0 }` in items. */
export const modifyOrderBody = Type.Object(
  {
    shipping_address: Type.Optional(address),
    items: Type.Optional(
      Type.Array(
        oneOf([
          Type.Object(
            { item_id: uuid, quantity: Type.Integer({ minimum: 0, maximum: MAX_LINE_QUANTITY }) },
            { additionalProperties: false },
          ),
          Type.Object({ sku: clientId, quantity }, { additionalProperties: false }),
        ]),
        { minItems: 1, maxItems: 200 },
      ),
    ),
    add_items: Type.Optional(lineItems),
    remove_items: Type.Optional(Type.Array(uuid, { minItems: 1, maxItems: 200 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ModifyOrderBody = Static<typeof modifyOrderBody>;

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
