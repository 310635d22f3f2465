import { fulfillmentStatus } from '../domain/fulfillment.js';
import type { OrderStatusName } from '../domain/order.js';
import type { Queryable } from './db.js';

/** The order's status from its lines and shipments as this transaction sees them (domain/fulfillment). */
export async function currentFulfillmentStatus(tx: Queryable, orderId: string): Promise<OrderStatusName> {
  const items = await tx.query<{ quantity: number; quantity_shipped: number; quantity_cancelled: number }>(
    'SELECT quantity, quantity_shipped, quantity_cancelled FROM order_items WHERE order_id = $1',
    [orderId],
  );
  const shipments = await tx.query<{ status: string }>('SELECT status FROM shipments WHERE order_id = $1', [orderId]);
  return fulfillmentStatus(items.rows, shipments.rows);
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
  const seen = await db.query('SELECT 1 FROM processed_messages WHERE consumer = $1 AND message_id = $2', [consumer, messageId]);
  return seen.rows.length > 0;
}

/** Records a message in the consumer's inbox; false when it was there already (a redelivery). */
export async function claimMessage(tx: Queryable, consumer: string, messageId: string): Promise<boolean> {
  const inserted = await tx.query(
    'INSERT INTO processed_messages (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [consumer, messageId],
  );
  return inserted.rowCount === 1;
}
