import type { PoolClient } from '../platform/db.js';

/**
 * Gives held reservations matching `where` back to their warehouses (reserved drops; rows in (sku,
 * warehouse) order); returns what was released.
 */
export async function releaseHeldReservations(
  tx: PoolClient,
  where: string,
  params: unknown[],
): Promise<Array<{ warehouse_id: string; sku: string; quantity: number }>> {
  const released = await tx.query<{ warehouse_id: string; sku: string; quantity: number }>(
    `WITH held AS (
       SELECT reservation_id FROM reservations WHERE status = 'held' AND ${where} ORDER BY sku, warehouse_id FOR UPDATE
     ), freed AS (
       UPDATE reservations r SET status = 'released', updated_at = now() FROM held h
        WHERE r.reservation_id = h.reservation_id RETURNING r.warehouse_id, r.sku, r.quantity
     ), by_stock AS (
       SELECT warehouse_id, sku, sum(quantity)::int AS quantity FROM freed GROUP BY warehouse_id, sku
     ), back AS (
       UPDATE inventory i SET reserved = i.reserved - b.quantity, updated_at = now()
         FROM by_stock b WHERE i.warehouse_id = b.warehouse_id AND i.sku = b.sku
     )
     SELECT warehouse_id, sku, quantity FROM by_stock ORDER BY sku, warehouse_id`,
    params,
  );
  return released.rows;
}
