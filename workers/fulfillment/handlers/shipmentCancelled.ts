import { OrderEventType } from '../../../domain/events.js';
import { ShipmentStatus } from '../../../domain/fulfillment.js';
import type { PoolClient } from '../../../platform/db.js';
import type { NewEvent } from '../../../platform/eventStore.js';
import { releaseHeldReservations } from '../../../platform/stock.js';
import type { ShipmentRow } from '../shipmentStore.js';

const OPEN = [ShipmentStatus.created, ShipmentStatus.picked, ShipmentStatus.packed] as readonly string[];

/**
 * `cancelled`: the WMS stopped the shipment before it left (a cancellation asked for it). Its held
 * stock goes back to the warehouse; the cancellation saga cancels the order's lines.
 */
export async function onShipmentCancelled(tx: PoolClient, shipment: ShipmentRow): Promise<NewEvent[]> {
  if (!OPEN.includes(shipment.status)) return [];
  await tx.query(`UPDATE shipments SET status = 'cancelled', updated_at = now() WHERE shipment_id = $1`, [shipment.shipment_id]);
  const released = await releaseHeldReservations(tx, 'shipment_id = $1', [shipment.shipment_id]);
  return [{ type: OrderEventType.shipmentCancelled, payload: { shipment_id: shipment.shipment_id, reason: 'cancelled_by_request', released } }];
}
