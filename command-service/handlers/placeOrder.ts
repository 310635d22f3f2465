import { OrderEventType } from '../../domain/events.js';
import type { ItemId, OrderId, SagaId } from '../../domain/ids.js';
import { OrderStatus, SagaStatus } from '../../domain/order.js';
import { PlacementStepId } from '../../domain/placementSaga.js';
import { decidePlaceOrder } from '../../domain/placeOrder.js';
import { mergeLines, type RequestedLine } from '../../domain/pricing.js';
import type { Queryable } from '../../platform/db.js';
import { appendOrderEvents } from '../../platform/eventStore.js';
import { uuidv7, uuidv7Time } from '../../platform/ids.js';
import { Problem, problems } from '../../platform/problem.js';
import { assertStockExists, priceFromCatalog } from '../priceFromCatalog.js';
import type { CommandResult } from '../runCommand.js';
import type { PlaceOrderBody } from '../schemas/orders.js';

/**
 * POST /api/v1/orders. In ONE transaction: the order, its items, its saga row, the `order.placed` event
 * and its outbox row, so an order is never half-written and never placed without its event.
 */
export async function placeOrder(tx: Queryable, body: PlaceOrderBody, sagaLeaseMs: number): Promise<CommandResult> {
  if ((body.cart_id === undefined) === (body.items === undefined)) {
    throw problems.validation([{ pointer: '/items', detail: 'give exactly one of cart_id and items' }]);
  }
  const { lines, currency } =
    body.cart_id !== undefined
      ? await takeCart(tx, body.cart_id, body)
      : { lines: mergeLines(body.items ?? []), currency: body.currency };

  const priced = await priceFromCatalog(tx, lines, currency);
  assertStockExists(priced);

  const orderId = uuidv7() as OrderId;
  const placedAt = uuidv7Time(orderId);
  if (body.external_order_id !== undefined) await claimExternalReference(tx, body.channel, body.external_order_id, orderId);

  const event = decidePlaceOrder(
    {
      customer_id: body.customer_id,
      channel: body.channel,
      external_order_id: body.external_order_id ?? null,
      cart_id: body.cart_id ?? null,
      shipping_address: body.shipping_address,
      billing_address: body.billing_address ?? null,
      payment_method: { type: body.payment_method.type },
    },
    {
      orderId,
      sagaId: uuidv7() as SagaId,
      itemIds: priced.lines.map(() => uuidv7() as ItemId),
      placedAt,
      currency: priced.currency,
      lines: priced.lines,
      total: priced.total,
    },
  );

  // The order, its lines and its saga in one statement; the events and outbox rows in the next.
  // next_attempt_at: if no worker drives the saga from its event within the lease, the due poller will.
  await tx.query(
    `WITH o AS (
       INSERT INTO orders (order_id, customer_id, channel, external_order_id, cart_id, status, version, total_amount,
                           currency, shipping_address, billing_address, payment_method, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, 'placed', 1, $6, $7, $8, $9, $10, $11, $11)
     ), i AS (
       INSERT INTO order_items (item_id, order_id, order_created_at, line_no, sku, quantity, unit_price)
       SELECT item_id, $1, $11, line_no, sku, quantity, unit_price
         FROM unnest($12::uuid[], $13::text[], $14::int[], $15::bigint[]) WITH ORDINALITY AS t(item_id, sku, quantity, unit_price, line_no)
     ), c AS (
       UPDATE carts SET status = 'ordered', order_id = $1, updated_at = now() WHERE cart_id = $5
     )
     INSERT INTO sagas (saga_id, order_id, saga_type, current_step, status, created_at, updated_at, next_attempt_at)
     VALUES ($16, $1, 'placement', $17, $18, $11, $11, $19)`,
    [
      orderId,
      event.customer_id,
      event.channel,
      event.external_order_id,
      event.cart_id,
      event.total_amount,
      event.currency,
      JSON.stringify(event.shipping_address),
      event.billing_address === null ? null : JSON.stringify(event.billing_address),
      JSON.stringify(body.payment_method),
      placedAt,
      event.items.map((i) => i.item_id),
      event.items.map((i) => i.sku),
      event.items.map((i) => i.quantity),
      event.items.map((i) => i.unit_price),
      event.saga_id,
      PlacementStepId.reserveInventory,
      SagaStatus.running,
      new Date(placedAt.getTime() + sagaLeaseMs),
    ],
  );
  const [stored] = await appendOrderEvents(
    tx,
    orderId,
    0,
    [{ type: OrderEventType.orderPlaced, payload: { ...event } }],
    placedAt,
  );

  return {
    status: 202,
    headers: { Location: `/api/v1/orders/${orderId}` },
    body: {
      order_id: orderId,
      status: OrderStatus.placed,
      version: stored?.seq ?? 1,
      customer_id: event.customer_id,
      channel: event.channel,
      external_order_id: event.external_order_id,
      total_amount: event.total_amount,
      currency: event.currency,
      items: event.items,
      saga: { saga_id: event.saga_id, status: SagaStatus.running, current_step: PlacementStepId.reserveInventory },
      created_at: event.placed_at,
    },
  };
}

/** An order placed from a cart takes the cart's lines and currency and closes the cart. */
async function takeCart(
  tx: Queryable,
  cartId: string,
  body: PlaceOrderBody,
): Promise<{ lines: RequestedLine[]; currency: string }> {
  const result = await tx.query<{
    customer_id: string;
    currency: string;
    items: RequestedLine[];
    status: string;
    order_id: string | null;
  }>('SELECT customer_id, currency, items, status, order_id FROM carts WHERE cart_id = $1 FOR UPDATE', [cartId]);
  const cart = result.rows[0];
  if (cart === undefined) {
    throw new Problem(422, 'cart-not-found', 'Cart not found', `No cart ${cartId}.`, {
      errors: [{ pointer: '/cart_id', detail: 'no such cart' }],
    });
  }
  if (cart.status !== 'open') {
    throw new Problem(
      409,
      'cart-already-ordered',
      'Cart already ordered',
      `Cart ${cartId} was already turned into order ${cart.order_id}.`,
      {
        extensions: { order_id: cart.order_id },
      },
    );
  }
  if (cart.customer_id !== body.customer_id) {
    throw new Problem(
      422,
      'cart-customer-mismatch',
      'Cart belongs to another customer',
      `Cart ${cartId} is not customer ${body.customer_id}'s.`,
      {
        errors: [{ pointer: '/customer_id', detail: "does not match the cart's customer" }],
      },
    );
  }
  if (body.currency !== undefined && body.currency !== cart.currency) {
    throw new Problem(
      422,
      'currency-mismatch',
      'Currency mismatch',
      `Cart ${cartId} is priced in ${cart.currency}, not ${body.currency}.`,
      {
        errors: [{ pointer: '/currency', detail: "does not match the cart's currency" }],
      },
    );
  }
  return { lines: cart.items, currency: cart.currency };
}

/** external_order_id is unique per channel: the second order with the same reference is refused. */
async function claimExternalReference(tx: Queryable, channel: string, externalOrderId: string, orderId: string): Promise<void> {
  const inserted = await tx.query(
    `INSERT INTO order_external_refs (channel, external_order_id, order_id) VALUES ($1, $2, $3)
     ON CONFLICT DO NOTHING`,
    [channel, externalOrderId, orderId],
  );
  if (inserted.rowCount === 1) return;
  const existing = await tx.query<{ order_id: string }>(
    'SELECT order_id FROM order_external_refs WHERE channel = $1 AND external_order_id = $2',
    [channel, externalOrderId],
  );
  const existingId = existing.rows[0]?.order_id;
  throw new Problem(
    409,
    'duplicate-external-order-id',
    'External order id already used',
    `Channel ${channel} already has an order with external_order_id ${externalOrderId}${existingId ? ` (${existingId})` : ''}.`,
    { extensions: { order_id: existingId ?? null } },
  );
}
