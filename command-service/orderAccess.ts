import { seesChannel, type Principal } from '../platform/access.js';
import type { Queryable } from '../platform/db.js';
import { problems } from '../platform/problem.js';

/**
 * A channel's key changes only its channel's orders: another channel's order answers 404, as a missing
 * one does, so its existence does not leak (contract §8). A back-office key costs no query here.
 */
export async function checkOrderInChannel(db: Queryable, orderId: string, principal: Principal): Promise<void> {
  if (principal.channel === null) return;
  // created_at = uuid7_time(order_id) lets PostgreSQL probe one partition (orders are partitioned by it).
  const result = await db.query<{ channel: string }>(
    'SELECT channel FROM orders WHERE order_id = $1 AND created_at = uuid7_time($1)',
    [orderId],
  );
  if (!seesChannel(principal, result.rows[0]?.channel)) throw problems.notFound('Order', orderId);
}
