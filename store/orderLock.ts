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

/**
 * lockOrder for many orders in one statement, always in id order (so two batches never deadlock);
 * answers the rows of those that exist, by order id. `columns` are of `orders o` and include `o.order_id`.
 */
export async function lockOrders<T extends { order_id: string } = { order_id: string; status: string }>(
  tx: Queryable,
  orderIds: readonly string[],
  columns = 'o.order_id, o.status::text AS status',
): Promise<Map<string, T>> {
  const result = await tx.query<T>(
    `SELECT ${columns}
       FROM unnest($1::uuid[]) AS u(id) JOIN orders o ON o.order_id = u.id AND o.created_at = uuid7_time(u.id)
      ORDER BY o.order_id FOR UPDATE OF o`,
    [[...new Set(orderIds)]],
  );
  return new Map(result.rows.map((row) => [row.order_id, row]));
}
