import type { Queryable } from '../platform/db.js';

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
