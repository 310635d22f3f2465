import { OrderEventType } from '../../../domain/events.js';
import { ShipmentStatus } from '../../../domain/fulfillment.js';
import type { PoolClient } from '../../../platform/db.js';
import { uuidv7 } from '../../../platform/ids.js';
import type { ShipmentChange } from '../shipmentChange.js';
import type { ShipmentItemRow, ShipmentRow } from '../shipmentStore.js';
import type { WmsMessage } from '../../../platform/wmsProtocol.js';
import type { NewEvent } from '../../../store/eventStore.js';
import type { StockLine } from '../../../store/stock.js';

/**
 * `picked`: the shipment is picked. Units the pick came up short are gone from that warehouse: its
 * stock on hand and reserved both drop by them (a stock correction, returned as `stockLeaving` for
 * the caller's last statement), the shipment line shrinks, and `shipment.short_picked` asks the router
 * to find them elsewhere. Nothing picked at all cancels the shipment. The new status is the batch's to write.
 */
export async function onShipmentPicked(
  tx: PoolClient,
  shipment: ShipmentRow,
  message: WmsMessage,
  items: readonly ShipmentItemRow[],
): Promise<ShipmentChange & { stockLeaving: StockLine[] }> {
  if (shipment.status !== ShipmentStatus.created) return { events: [], stockLeaving: [] };
  const short = (message.short ?? []).flatMap((s) => {
    const line = items.find((i) => i.item_id === s.item_id);
    const quantity = Math.min(s.quantity, line?.quantity ?? 0);
    return line === undefined || quantity === 0 ? [] : [{ item_id: line.item_id, sku: line.sku, quantity }];
  });
  const nothingPicked = items.every((i) => (short.find((s) => s.item_id === i.item_id)?.quantity ?? 0) >= i.quantity);

  for (const s of short) {
    await tx.query(
      `UPDATE shipment_items SET quantity = quantity - $3, quantity_short = quantity_short + $3
        WHERE shipment_id = $1 AND item_id = $2`,
      [shipment.shipment_id, s.item_id, s.quantity],
    );
    // The shipment's hold on the line shrinks: released, and held again for what was found.
    const held = await tx.query<{ quantity: number }>(
      `UPDATE reservations SET status = 'released', updated_at = now()
        WHERE shipment_id = $1 AND item_id = $2 AND status = 'held' RETURNING quantity`,
      [shipment.shipment_id, s.item_id],
    );
    const rest = held.rows.reduce((sum, r) => sum + r.quantity, 0) - s.quantity;
    if (rest > 0) {
      await tx.query(
        `INSERT INTO reservations (reservation_id, order_id, item_id, warehouse_id, sku, quantity, shipment_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [uuidv7(), shipment.order_id, s.item_id, shipment.warehouse_id, s.sku, rest, shipment.shipment_id],
      );
    }
  }
  const picked = items
    .map((i) => ({
      item_id: i.item_id,
      sku: i.sku,
      quantity: i.quantity - (short.find((s) => s.item_id === i.item_id)?.quantity ?? 0),
    }))
    .filter((i) => i.quantity > 0);
  const events: NewEvent[] = [
    { type: OrderEventType.shipmentPicked, payload: { shipment_id: shipment.shipment_id, items: picked, short } },
  ];
  if (short.length > 0) {
    events.push({
      type: OrderEventType.shipmentShortPicked,
      payload: { shipment_id: shipment.shipment_id, warehouse_id: shipment.warehouse_id, short },
    });
  }
  if (nothingPicked) {
    events.push({
      type: OrderEventType.shipmentCancelled,
      payload: { shipment_id: shipment.shipment_id, reason: 'nothing_picked' },
    });
  }
  // The stock itself changes in the batch's last statement (store/stock's consume), with every other stock change.
  return {
    events,
    status: nothingPicked ? ShipmentStatus.cancelled : ShipmentStatus.picked,
    stockLeaving: short.map((s) => ({ warehouse_id: shipment.warehouse_id, sku: s.sku, quantity: s.quantity })),
  };
}
