import { fulfillmentStatus } from '../../domain/fulfillment.js';
import type { OrderStatusName } from '../../domain/order.js';
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

/** The shipment's lines still holding units. */
export async function shipmentItems(tx: Queryable, shipmentId: string): Promise<ShipmentItemRow[]> {
  return (await shipmentItemsOf(tx, [shipmentId])).get(shipmentId) ?? [];
}

/** shipmentItems for many shipments, in one statement. */
export async function shipmentItemsOf(tx: Queryable, shipmentIds: readonly string[]): Promise<Map<string, ShipmentItemRow[]>> {
  const result = await tx.query<ShipmentItemRow & { shipment_id: string }>(
    `SELECT shipment_id, item_id, sku, quantity, unit_price FROM shipment_items
      WHERE shipment_id = ANY($1::uuid[]) AND quantity > 0 ORDER BY shipment_id, sku, item_id`,
    [shipmentIds],
  );
  const byShipment = new Map<string, ShipmentItemRow[]>(shipmentIds.map((id) => [id, []]));
  for (const { shipment_id: id, ...item } of result.rows) byShipment.get(id)?.push(item);
  return byShipment;
}

/**
 * The batch's orders as it moves them: their lines and shipments, read once, updated in memory as each
 * message is decided, so each message's events carry the order's status as that message left it
 * (domain/fulfillment's fulfillmentStatus) without reading it again.
 */
export class OrdersInProgress {
  constructor(
    private readonly lines: Map<
      string,
      Array<{ item_id: string; quantity: number; quantity_shipped: number; quantity_cancelled: number }>
    >,
    private readonly shipments: Map<string, Map<string, string>>,
  ) {}

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
      [...(this.shipments.get(orderId) ?? new Map<string, string>()).values()].map((status) => ({ status })),
    );
  }
}

/** The orders' lines and shipments, read in two statements, as an OrdersInProgress. */
export async function orderProgressOf(tx: Queryable, orderIds: readonly string[]): Promise<OrdersInProgress> {
  const lines = await tx.query<{
    order_id: string;
    item_id: string;
    quantity: number;
    quantity_shipped: number;
    quantity_cancelled: number;
  }>(
    'SELECT order_id, item_id, quantity, quantity_shipped, quantity_cancelled FROM order_items WHERE order_id = ANY($1::uuid[])',
    [orderIds],
  );
  const shipments = await tx.query<{ order_id: string; shipment_id: string; status: string }>(
    'SELECT order_id, shipment_id, status FROM shipments WHERE order_id = ANY($1::uuid[])',
    [orderIds],
  );
  const linesOf = new Map<
    string,
    Array<{ item_id: string; quantity: number; quantity_shipped: number; quantity_cancelled: number }>
  >();
  for (const { order_id: orderId, ...line } of lines.rows) linesOf.set(orderId, [...(linesOf.get(orderId) ?? []), line]);
  const shipmentsOf = new Map<string, Map<string, string>>();
  for (const s of shipments.rows) {
    let byId = shipmentsOf.get(s.order_id);
    if (byId === undefined) shipmentsOf.set(s.order_id, (byId = new Map()));
    byId.set(s.shipment_id, s.status);
  }
  return new OrdersInProgress(linesOf, shipmentsOf);
}

/**
 * The batch's shipment changes in two statements: every shipment's last status (a shipped one with its
 * carrier, tracking number and first tracking poll), then the lines of the shipped shipments counted
 * as shipped (summed per line: one line may be split over two shipments of the batch).
 */
export async function writeShipmentChanges(
  tx: Queryable,
  status: ReadonlyMap<string, string>,
  shipped: ReadonlyMap<string, { carrier?: string | undefined; tracking_number?: string | undefined }>,
  firstTrackingPollMs: number,
): Promise<void> {
  if (status.size === 0) return;
  const ids = [...status.keys()];
  await tx.query(
    `UPDATE shipments s SET status = c.status, updated_at = now(),
            carrier = CASE WHEN c.shipped THEN c.carrier ELSE s.carrier END,
            tracking_number = CASE WHEN c.shipped THEN c.tracking ELSE s.tracking_number END,
            shipped_at = CASE WHEN c.shipped THEN now() ELSE s.shipped_at END,
            tracking_next_poll_at = CASE WHEN c.shipped THEN now() + make_interval(secs => $6::double precision / 1000)
                                         ELSE s.tracking_next_poll_at END,
            tracking_attempts = CASE WHEN c.shipped THEN 0 ELSE s.tracking_attempts END
       FROM unnest($1::uuid[], $2::text[], $3::bool[], $4::text[], $5::text[]) AS c(shipment_id, status, shipped, carrier, tracking)
      WHERE s.shipment_id = c.shipment_id`,
    [
      ids,
      ids.map((id) => status.get(id)),
      ids.map((id) => shipped.has(id)),
      ids.map((id) => shipped.get(id)?.carrier ?? null),
      ids.map((id) => shipped.get(id)?.tracking_number ?? null),
      firstTrackingPollMs,
    ],
  );
  if (shipped.size === 0) return;
  await tx.query(
    `UPDATE order_items i
        SET quantity_shipped = i.quantity_shipped + s.quantity,
            status = CASE WHEN i.quantity_shipped + s.quantity + i.quantity_cancelled >= i.quantity THEN 'shipped' ELSE 'partially_shipped' END
       FROM (SELECT item_id, sum(quantity)::int AS quantity FROM shipment_items
              WHERE shipment_id = ANY($1::uuid[]) AND quantity > 0 GROUP BY item_id) s
      WHERE s.item_id = i.item_id`,
    [[...shipped.keys()]],
  );
}

/** New captures, `pending`, in one statement. */
export async function insertCaptures(
  tx: Queryable,
  captures: ReadonlyArray<{
    capture_id: string;
    order_id: string;
    payment_id: string;
    shipment_id: string;
    amount: number;
    currency: string;
  }>,
): Promise<void> {
  if (captures.length === 0) return;
  await tx.query(
    `INSERT INTO captures (capture_id, order_id, payment_id, shipment_id, amount, currency, status)
     SELECT c, o, p, s, a, cur, 'pending' FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::bigint[], $6::text[])
       AS t(c, o, p, s, a, cur)`,
    [
      captures.map((c) => c.capture_id),
      captures.map((c) => c.order_id),
      captures.map((c) => c.payment_id),
      captures.map((c) => c.shipment_id),
      captures.map((c) => c.amount),
      captures.map((c) => c.currency),
    ],
  );
}
