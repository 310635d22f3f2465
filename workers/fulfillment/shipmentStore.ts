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

/** Records messages in the consumer's inbox in one statement; returns the ids that were new (not redeliveries). */
export async function claimMessages(tx: Queryable, consumer: string, messageIds: readonly string[]): Promise<Set<string>> {
  if (messageIds.length === 0) return new Set();
  const inserted = await tx.query<{ message_id: string }>(
    `INSERT INTO processed_messages (consumer, message_id)
     SELECT $1, id FROM unnest($2::text[]) AS u(id) ORDER BY id
     ON CONFLICT DO NOTHING RETURNING message_id`,
    [consumer, messageIds],
  );
  return new Set(inserted.rows.map((r) => r.message_id));
}
