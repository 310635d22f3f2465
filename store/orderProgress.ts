import { fulfillmentStatus } from '../domain/fulfillment.js';
import type { OrderStatusName } from '../domain/order.js';
import type { Queryable } from '../platform/db.js';

/** An order line as its status needs it. */
export interface LineProgress {
  readonly item_id: string;
  readonly quantity: number;
  quantity_shipped: number;
  readonly quantity_cancelled: number;
}

/**
 * Orders' lines and shipments as a transaction read them, kept up to date in memory by a batch that
 * moves them on, so each event can carry its order's status as that event left it (domain/fulfillment's
 * fulfillmentStatus) without reading it again.
 */
export class OrdersInProgress {
  private readonly lines = new Map<string, LineProgress[]>();
  private readonly shipments = new Map<string, Map<string, string>>();

  constructor(
    lines: ReadonlyArray<LineProgress & { readonly order_id: string }>,
    shipments: ReadonlyArray<{ readonly order_id: string; readonly shipment_id: string; readonly status: string }>,
  ) {
    for (const { order_id: orderId, ...line } of lines) {
      const ofOrder = this.lines.get(orderId);
      if (ofOrder === undefined) this.lines.set(orderId, [line]);
      else ofOrder.push(line);
    }
    for (const s of shipments) this.setShipmentStatus(s.order_id, s.shipment_id, s.status);
  }

  /** A shipment left: its units count as shipped on their lines. */
  ship(orderId: string, items: ReadonlyArray<{ item_id: string; quantity: number }>): void {
    for (const item of items) {
      const line = this.lines.get(orderId)?.find((l) => l.item_id === item.item_id);
      if (line !== undefined) line.quantity_shipped += item.quantity;
    }
  }

  setShipmentStatus(orderId: string, shipmentId: string, status: string): void {
    let byId = this.shipments.get(orderId);
    if (byId === undefined) this.shipments.set(orderId, (byId = new Map()));
    byId.set(shipmentId, status);
  }

  statusOf(orderId: string): OrderStatusName {
    return fulfillmentStatus(
      this.lines.get(orderId) ?? [],
      [...(this.shipments.get(orderId)?.values() ?? [])].map((status) => ({ status })),
    );
  }
}

/** The orders' lines and shipments as this transaction sees them, in two statements. */
export async function ordersInProgress(tx: Queryable, orderIds: readonly string[]): Promise<OrdersInProgress> {
  const lines = await tx.query<LineProgress & { order_id: string }>(
    'SELECT order_id, item_id, quantity, quantity_shipped, quantity_cancelled FROM order_items WHERE order_id = ANY($1::uuid[])',
    [orderIds],
  );
  const shipments = await tx.query<{ order_id: string; shipment_id: string; status: string }>(
    'SELECT order_id, shipment_id, status FROM shipments WHERE order_id = ANY($1::uuid[])',
    [orderIds],
  );
  return new OrdersInProgress(lines.rows, shipments.rows);
}

/** The order's status from its lines and shipments as this transaction sees them (domain/fulfillment). */
export async function currentFulfillmentStatus(tx: Queryable, orderId: string): Promise<OrderStatusName> {
  return (await ordersInProgress(tx, [orderId])).statusOf(orderId);
}

/** currentFulfillmentStatus for many orders, in two statements. */
export async function currentFulfillmentStatuses(
  tx: Queryable,
  orderIds: readonly string[],
): Promise<Map<string, OrderStatusName>> {
  const progress = await ordersInProgress(tx, orderIds);
  return new Map(orderIds.map((id) => [id, progress.statusOf(id)]));
}
