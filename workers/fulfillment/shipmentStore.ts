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

export async function shipmentItems(tx: Queryable, shipmentId: string): Promise<ShipmentItemRow[]> {
  const result = await tx.query<ShipmentItemRow>(
    'SELECT item_id, sku, quantity, unit_price FROM shipment_items WHERE shipment_id = $1 AND quantity > 0 ORDER BY sku, item_id',
    [shipmentId],
  );
  return result.rows;
}
