import { fulfillmentStatus } from '../domain/fulfillment.js';
import type { OrderStatusName } from '../domain/order.js';
import type { Queryable } from './db.js';

/** The order's status from its lines and shipments as this transaction sees them (domain/fulfillment). */
export async function currentFulfillmentStatus(tx: Queryable, orderId: string): Promise<OrderStatusName> {
  const statuses = await currentFulfillmentStatuses(tx, [orderId]);
  return statuses.get(orderId) ?? fulfillmentStatus([], []);
}

/** currentFulfillmentStatus for many orders, in two statements. */
export async function currentFulfillmentStatuses(
  tx: Queryable,
  orderIds: readonly string[],
): Promise<Map<string, OrderStatusName>> {
  const [items, shipments] = [
    await tx.query<{ order_id: string; quantity: number; quantity_shipped: number; quantity_cancelled: number }>(
      'SELECT order_id, quantity, quantity_shipped, quantity_cancelled FROM order_items WHERE order_id = ANY($1::uuid[])',
      [orderIds],
    ),
    await tx.query<{ order_id: string; status: string }>(
      'SELECT order_id, status FROM shipments WHERE order_id = ANY($1::uuid[])',
      [orderIds],
    ),
  ];
  return new Map(
    orderIds.map((id) => [
      id,
      fulfillmentStatus(
        items.rows.filter((i) => i.order_id === id),
        shipments.rows.filter((s) => s.order_id === id),
      ),
    ]),
  );
}

/** Locks the order's row: every writer of an order's fulfillment takes it first, so they never deadlock. */
export async function lockOrder<T extends Record<string, unknown> = { status: string }>(
  tx: Queryable,
  orderId: string,
  columns = 'status::text AS status',
): Promise<T | undefined> {
  const result = await tx.query<T>(
    `SELECT ${columns} FROM orders WHERE order_id = $1 AND created_at = uuid7_time($1) FOR UPDATE`,
    [orderId],
  );
  return result.rows[0];
}

/** Whether the consumer's inbox holds the message already (a cheap check before expensive work). */
export async function wasProcessed(db: Queryable, consumer: string, messageId: string): Promise<boolean> {
  return (await processedAmong(db, consumer, [messageId])).size > 0;
}

/** Which of the messages the consumer's inbox holds already. */
export async function processedAmong(db: Queryable, consumer: string, messageIds: readonly string[]): Promise<Set<string>> {
  const seen = await db.query<{ message_id: string }>(
    'SELECT message_id FROM processed_messages WHERE consumer = $1 AND message_id = ANY($2::text[])',
    [consumer, messageIds],
  );
  return new Set(seen.rows.map((r) => r.message_id));
}

/** Records a message in the consumer's inbox; false when it was there already (a redelivery). */
export async function claimMessage(tx: Queryable, consumer: string, messageId: string): Promise<boolean> {
  return (await claimMessages(tx, consumer, [messageId])).size > 0;
}

/** Records messages in the consumer's inbox in one statement; returns the ids that were new (not redeliveries). */
export async function claimMessages(tx: Queryable, consumer: string, messageIds: readonly string[]): Promise<Set<string>> {
  if (messageIds.length === 0) return new Set();
  const inserted = await tx.query<{ message_id: string }>(
    `INSERT INTO processed_messages (consumer, message_id)
     SELECT $1, id FROM unnest($2::text[]) AS u(id) ORDER BY id
     ON CONFLICT DO NOTHING RETURNING message_id`,
    [consumer, messageIds],
  );
  return new Set(inserted.rows.map((r) => r.message_id));
}
