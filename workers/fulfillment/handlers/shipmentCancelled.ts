import { OrderEventType } from '../../../domain/events.js';
import { AT_WAREHOUSE, ShipmentStatus } from '../../../domain/fulfillment.js';
import type { PoolClient } from '../../../platform/db.js';
import type { ShipmentChange } from '../shipmentChange.js';
import type { ShipmentRow } from '../shipmentStore.js';

/**
 * `cancelled`: the WMS stopped the shipment before it left (a cancellation or an edit asked for it).
 */
export async function onShipmentCancelled(tx: PoolClient, shipment: ShipmentRow): Promise<ShipmentChange> {
  if (!AT_WAREHOUSE.includes(shipment.status)) return { events: [] };
  // The order keeps the stock, no longer tied to this shipment: whoever asked for the cancellation
  // decides what becomes of it (a cancellation releases it, an edit re-routes it).
  await tx.query(`UPDATE reservations SET shipment_id = NULL, updated_at = now() WHERE shipment_id = $1 AND status = 'held'`, [
    shipment.shipment_id,
  ]);
  return {
    status: ShipmentStatus.cancelled,
    events: [
      { type: OrderEventType.shipmentCancelled, payload: { shipment_id: shipment.shipment_id, reason: 'cancelled_by_request' } },
    ],
  };
}
