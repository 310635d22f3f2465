import { OrderEventType } from '../../../domain/events.js';
import { ShipmentStatus } from '../../../domain/fulfillment.js';
import type { PoolClient } from '../../../platform/db.js';
import type { NewEvent } from '../../../platform/eventStore.js';
import type { ShipmentRow } from '../shipmentStore.js';

/** `packed`: the shipment waits for its carrier. */
export async function onShipmentPacked(tx: PoolClient, shipment: ShipmentRow): Promise<NewEvent[]> {
  if (shipment.status !== ShipmentStatus.created && shipment.status !== ShipmentStatus.picked) return [];
  await tx.query(`UPDATE shipments SET status = 'packed', updated_at = now() WHERE shipment_id = $1`, [shipment.shipment_id]);
  return [{ type: OrderEventType.shipmentPacked, payload: { shipment_id: shipment.shipment_id } }];
}
