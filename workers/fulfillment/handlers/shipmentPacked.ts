import { OrderEventType } from '../../../domain/events.js';
import { ShipmentStatus } from '../../../domain/fulfillment.js';
import type { ShipmentChange } from '../shipmentChange.js';
import type { ShipmentRow } from '../shipmentStore.js';

/** `packed`: the shipment waits for its carrier (its new status is written with the batch's). */
export function onShipmentPacked(shipment: ShipmentRow): ShipmentChange {
  if (shipment.status !== ShipmentStatus.created && shipment.status !== ShipmentStatus.picked) return { events: [] };
  return {
    status: ShipmentStatus.packed,
    events: [{ type: OrderEventType.shipmentPacked, payload: { shipment_id: shipment.shipment_id } }],
  };
}
