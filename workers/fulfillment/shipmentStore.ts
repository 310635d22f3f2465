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

/** The shipment, locked for the caller's transaction (after the order row: see lockOrder). */
export async function lockShipment(tx: Queryable, shipmentId: string): Promise<ShipmentRow | undefined> {
  const result = await tx.query<ShipmentRow>(
    'SELECT shipment_id, order_id, warehouse_id, status FROM shipments WHERE shipment_id = $1 FOR UPDATE',
    [shipmentId],
  );
  return result.rows[0];
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
