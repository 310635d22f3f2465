import { OrderEventType } from '../../../domain/events.js';
import { AT_WAREHOUSE, captureAmount, shipmentValue, ShipmentStatus } from '../../../domain/fulfillment.js';
import { uuidv7 } from '../../../platform/ids.js';
import type { WmsMessage } from '../../../platform/wmsProtocol.js';
import type { OpenAuthorization } from '../../../store/payments.js';
import type { NewCapture } from '../captureStore.js';
import type { ShipmentChange } from '../shipmentChange.js';
import type { ShipmentItemRow, ShipmentRow } from '../shipmentStore.js';

/** An open authorization as a batch runs through it: what its captures (this batch's included) commit. */
export type RunningAuthorization = Omit<OpenAuthorization, 'committed'> & { committed: number };

/**
 * `shipped`: the parcel left the warehouse with its carrier. Decided here, written by the batch: the
 * shipment becomes `shipped` (with carrier and tracking number, and the tracker scheduled), its lines
 * count as shipped, its reserved stock is consumed, and captures of exactly its value are made `pending`
 * (one per payment it draws on, unique per shipment and payment) from the order's open authorizations,
 * oldest first, each up to what it has left — `authorizations` is the batch's running view of them,
 * updated here so a second shipment of the order in the same batch sees what this one took. A
 * redelivered `shipped` finds the shipment shipped and does nothing.
 */
export function onShipmentShipped(
  shipment: ShipmentRow,
  message: WmsMessage,
  items: readonly ShipmentItemRow[],
  authorizations: RunningAuthorization[],
): ShipmentChange & { captures: NewCapture[] } {
  if (!AT_WAREHOUSE.includes(shipment.status)) return { events: [], captures: [] };
  const captures: NewCapture[] = [];
  let value = shipmentValue(items);
  for (const pay of authorizations) {
    if (value === 0) break;
    const amount = captureAmount(value, pay.amount, pay.committed);
    if (amount === 0) continue;
    captures.push({
      capture_id: uuidv7(),
      order_id: shipment.order_id,
      payment_id: pay.payment_id,
      shipment_id: shipment.shipment_id,
      amount,
      currency: pay.currency,
    });
    pay.committed += amount;
    value -= amount;
  }
  return {
    status: ShipmentStatus.shipped,
    captures,
    events: [
      {
        type: OrderEventType.shipmentShipped,
        payload: {
          shipment_id: shipment.shipment_id,
          warehouse_id: shipment.warehouse_id,
          carrier: message.carrier,
          tracking_number: message.tracking_number,
          items: items.map((i) => ({ item_id: i.item_id, sku: i.sku, quantity: i.quantity })),
        },
      },
    ],
  };
}
