import type { Queryable } from '../platform/db.js';

/** An authorization that may still be captured, with what is captured or about to be (pending captures). */
export interface OpenAuthorization {
  readonly payment_id: string;
  readonly authorization_code: string;
  readonly currency: string;
  readonly amount: number;
  readonly committed: number;
}

/**
 * The order's authorizations still open to captures, oldest first (newest first on request), locked
 * for the caller's transaction when asked.
 */
export async function openAuthorizations(
  db: Queryable,
  orderId: string,
  options: { newestFirst?: boolean; lock?: boolean } = {},
): Promise<OpenAuthorization[]> {
  return (await openAuthorizationsOf(db, [orderId], options)).get(orderId) ?? [];
}

/** openAuthorizations for many orders in one statement, by order id (locked in payment id order). */
export async function openAuthorizationsOf(
  db: Queryable,
  orderIds: readonly string[],
  options: { newestFirst?: boolean; lock?: boolean } = {},
): Promise<Map<string, OpenAuthorization[]>> {
  const byOrder = new Map<string, OpenAuthorization[]>(orderIds.map((id) => [id, []]));
  if (orderIds.length === 0) return byOrder;
  const result = await db.query<OpenAuthorization & { order_id: string }>(
    `SELECT p.order_id, p.payment_id, p.authorization_code, p.currency, p.amount,
            (SELECT coalesce(sum(c.amount), 0) FROM captures c WHERE c.payment_id = p.payment_id AND c.status <> 'failed')::bigint AS committed
       FROM payments p
      WHERE p.order_id = ANY($1::uuid[]) AND p.status IN ('authorized', 'partially_captured')
      ORDER BY p.created_at ${options.newestFirst ? 'DESC' : 'ASC'}, p.payment_id${options.lock ? ' FOR UPDATE' : ''}`,
    [orderIds],
  );
  for (const { order_id: orderId, ...authorization } of result.rows) byOrder.get(orderId)?.push(authorization);
  return byOrder;
}

/**
 * Shrinks an authorization in our books by `by` (released at the PSP): fully captured → `captured`,
 * nothing left → `voided`. Returns the amount it still authorizes.
 */
export async function shrinkAuthorization(db: Queryable, paymentId: string, by: number): Promise<number> {
  const result = await db.query<{ amount: number }>(
    `UPDATE payments SET amount = amount - $2, updated_at = now(),
            status = CASE WHEN amount - $2 = 0 THEN 'voided'
                          WHEN amount_captured > 0 AND amount_captured >= amount - $2 THEN 'captured'
                          ELSE status END
      WHERE payment_id = $1 RETURNING amount`,
    [paymentId, by],
  );
  return result.rows[0]?.amount ?? 0;
}
