import { OrderEventType } from '../../../domain/events.js';
import { AT_WAREHOUSE, captureAmount, shipmentValue } from '../../../domain/fulfillment.js';
import type { PoolClient } from '../../../platform/db.js';
import type { NewEvent } from '../../../platform/eventStore.js';
import { uuidv7 } from '../../../platform/ids.js';
import { openAuthorizations } from '../../../platform/payments.js';
import type { ShipmentItemRow, ShipmentRow } from '../shipmentStore.js';
import type { WmsMessage } from '../../../platform/wmsProtocol.js';

/**
 * `shipped`: the parcel left the warehouse with its carrier. Its reserved stock is consumed (on hand
 * and reserved drop: `consumesStock`, done by the caller's last statement), its lines count as
 * shipped, the tracker is scheduled, and captures of exactly its value are written `pending` (one per
 * payment it draws on, unique per shipment and payment): the capture processor takes the money after
 * commit, and a redelivered `shipped` finds the shipment shipped and does nothing.
 */
export async function onShipmentShipped(
  tx: PoolClient,
  shipment: ShipmentRow,
  message: WmsMessage,
  firstTrackingPollMs: number,
  items: readonly ShipmentItemRow[],
): Promise<{ events: NewEvent[]; captureIds: string[]; consumesStock: boolean }> {
  if (!AT_WAREHOUSE.includes(shipment.status)) return { events: [], captureIds: [], consumesStock: false };
  await tx.query(
    `UPDATE shipments SET status = 'shipped', carrier = $2, tracking_number = $3, shipped_at = now(), updated_at = now(),
            tracking_next_poll_at = now() + make_interval(secs => $4::double precision / 1000), tracking_attempts = 0
      WHERE shipment_id = $1`,
    [shipment.shipment_id, message.carrier, message.tracking_number, firstTrackingPollMs],
  );
  await tx.query(
    `UPDATE order_items i
        SET quantity_shipped = i.quantity_shipped + s.quantity,
            status = CASE WHEN i.quantity_shipped + s.quantity + i.quantity_cancelled >= i.quantity THEN 'shipped' ELSE 'partially_shipped' END
       FROM shipment_items s
      WHERE s.shipment_id = $1 AND s.item_id = i.item_id AND s.quantity > 0`,
    [shipment.shipment_id],
  );

  const events: NewEvent[] = [
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
  ];

  // The value is captured from the order's authorizations in the order they were made, each up to what
  // it has left (an edit may have added a second one).
  let value = shipmentValue(items);
  const captureIds: string[] = [];
  for (const pay of await openAuthorizations(tx, shipment.order_id, { lock: true })) {
    const amount = captureAmount(value, pay.amount, pay.committed);
    if (amount === 0) continue;
    const captureId = uuidv7();
    await tx.query(
      `INSERT INTO captures (capture_id, order_id, payment_id, shipment_id, amount, currency, status)
       VALUES ($1, $2, $3, $4, $5, $6, 'pending')`,
      [captureId, shipment.order_id, pay.payment_id, shipment.shipment_id, amount, pay.currency],
    );
    captureIds.push(captureId);
    value -= amount;
    if (value === 0) break;
  }
  // Its held stock leaves the warehouse in the batch's last statement (takeStockOut).
  return { events, captureIds, consumesStock: true };
}
