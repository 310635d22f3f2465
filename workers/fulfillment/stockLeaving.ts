import type { Queryable } from '../../platform/db.js';

/** Units that left a warehouse's books (a short pick: found missing): on hand and reserved both drop. */
export interface StockLeaving {
  readonly warehouse_id: string;
  readonly sku: string;
  readonly quantity: number;
}

/**
 * Everything a batch of WMS messages takes out of stock, in ONE statement meant to be the transaction's
 * last: the held reservations of the shipped shipments are consumed, and on hand and reserved drop by
 * those and by the short-picked units, summed per stock row. The stock rows — hot, shared by every
 * order of a SKU — are locked in (sku, warehouse) order, as everywhere, FOR NO KEY UPDATE (no key
 * changes; foreign-key share locks do not wait on it), and only until the commit.
 */
export async function takeStockOut(
  tx: Queryable,
  shippedShipments: readonly string[],
  short: readonly StockLeaving[],
): Promise<void> {
  if (shippedShipments.length === 0 && short.length === 0) return;
  await tx.query(
    `WITH used AS (
       UPDATE reservations SET status = 'consumed', updated_at = now()
        WHERE shipment_id = ANY($1::uuid[]) AND status = 'held'
        RETURNING warehouse_id, sku, quantity
     ), gone AS (
       SELECT warehouse_id, sku, sum(quantity)::int AS quantity
         FROM (SELECT warehouse_id, sku, quantity FROM used
               UNION ALL
               SELECT * FROM unnest($2::text[], $3::text[], $4::int[])) AS g(warehouse_id, sku, quantity)
        GROUP BY warehouse_id, sku
     ), locked AS (
       SELECT i.warehouse_id, i.sku FROM inventory i JOIN gone g ON g.warehouse_id = i.warehouse_id AND g.sku = i.sku
        ORDER BY i.sku, i.warehouse_id
          FOR NO KEY UPDATE OF i
     )
     UPDATE inventory i SET on_hand = i.on_hand - g.quantity, reserved = i.reserved - g.quantity, updated_at = now()
       FROM gone g JOIN locked l ON l.warehouse_id = g.warehouse_id AND l.sku = g.sku
      WHERE i.warehouse_id = g.warehouse_id AND i.sku = g.sku`,
    [shippedShipments, short.map((s) => s.warehouse_id), short.map((s) => s.sku), short.map((s) => s.quantity)],
  );
}
