import type { Queryable } from '../../platform/db.js';

export interface ShipmentRow {
  readonly shipment_id: string;
  readonly order_id: string;
  readonly warehouse_id: string;
  readonly status: string;
}

export interface ShipmentItemRow {
  readonly item_id: string;
  readonly sku: string;
  readonly quantity: number;
  readonly unit_price: number;
}

/** The shipment's lines still holding units. */
export async function shipmentItems(tx: Queryable, shipmentId: string): Promise<ShipmentItemRow[]> {
  return (await shipmentItemsOf(tx, [shipmentId])).get(shipmentId) ?? [];
}

/** shipmentItems for many shipments, in one statement. */
export async function shipmentItemsOf(tx: Queryable, shipmentIds: readonly string[]): Promise<Map<string, ShipmentItemRow[]>> {
  const result = await tx.query<ShipmentItemRow & { shipment_id: string }>(
    `SELECT shipment_id, item_id, sku, quantity, unit_price FROM shipment_items
      WHERE shipment_id = ANY($1::uuid[]) AND quantity > 0 ORDER BY shipment_id, sku, item_id`,
    [shipmentIds],
  );
  const byShipment = new Map<string, ShipmentItemRow[]>(shipmentIds.map((id) => [id, []]));
  for (const { shipment_id: id, ...item } of result.rows) byShipment.get(id)?.push(item);
  return byShipment;
}

/**
 * The batch's shipment changes in two statements: every shipment's last status (a shipped one with its
 * carrier, tracking number and first tracking poll), then the lines of the shipped shipments counted
 * as shipped (summed per line: one line may be split over two shipments of the batch).
 */
export async function writeShipmentChanges(
  tx: Queryable,
  status: ReadonlyMap<string, string>,
  shipped: ReadonlyMap<string, { carrier?: string | undefined; tracking_number?: string | undefined }>,
  firstTrackingPollMs: number,
): Promise<void> {
  if (status.size === 0) return;
  const ids = [...status.keys()];
  await tx.query(
    `UPDATE shipments s SET status = c.status, updated_at = now(),
            carrier = CASE WHEN c.shipped THEN c.carrier ELSE s.carrier END,
            tracking_number = CASE WHEN c.shipped THEN c.tracking ELSE s.tracking_number END,
            shipped_at = CASE WHEN c.shipped THEN now() ELSE s.shipped_at END,
            tracking_next_poll_at = CASE WHEN c.shipped THEN now() + make_interval(secs => $6::double precision / 1000)
                                         ELSE s.tracking_next_poll_at END,
            tracking_attempts = CASE WHEN c.shipped THEN 0 ELSE s.tracking_attempts END
       FROM unnest($1::uuid[], $2::text[], $3::bool[], $4::text[], $5::text[]) AS c(shipment_id, status, shipped, carrier, tracking)
      WHERE s.shipment_id = c.shipment_id`,
    [
      ids,
      ids.map((id) => status.get(id)),
      ids.map((id) => shipped.has(id)),
      ids.map((id) => shipped.get(id)?.carrier ?? null),
      ids.map((id) => shipped.get(id)?.tracking_number ?? null),
      firstTrackingPollMs,
    ],
  );
  if (shipped.size === 0) return;
  await tx.query(
    `UPDATE order_items i
        SET quantity_shipped = i.quantity_shipped + s.quantity,
            status = CASE WHEN i.quantity_shipped + s.quantity + i.quantity_cancelled >= i.quantity THEN 'shipped' ELSE 'partially_shipped' END
       FROM (SELECT item_id, sum(quantity)::int AS quantity FROM shipment_items
              WHERE shipment_id = ANY($1::uuid[]) AND quantity > 0 GROUP BY item_id) s
      WHERE s.item_id = i.item_id`,
    [[...shipped.keys()]],
  );
}
