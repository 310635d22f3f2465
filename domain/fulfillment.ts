import { OrderStatus, type OrderStatusName } from './order.js';
import { multiply } from './money.js';

/**
 * Fulfillment rules, pure (contract §5): an order's status follows from its lines and shipments; a
 * shipment's capture is exactly its value, never beyond what the authorization has left; the tracker
 * backs off while a carrier reports nothing new.
 */
export const ShipmentStatus = Object.freeze({
  created: 'created',
  picked: 'picked',
  packed: 'packed',
  shipped: 'shipped',
  inTransit: 'in_transit',
  delivered: 'delivered',
  cancelled: 'cancelled',
} as const);
export type ShipmentStatusName = (typeof ShipmentStatus)[keyof typeof ShipmentStatus];

/** Statuses while the shipment is still at the warehouse: it may yet be cancelled there. */
export const AT_WAREHOUSE: readonly string[] = Object.freeze([
  ShipmentStatus.created,
  ShipmentStatus.picked,
  ShipmentStatus.packed,
]);

/** Statuses after the shipment left the warehouse. */
export const LEFT_WAREHOUSE: readonly string[] = Object.freeze([
  ShipmentStatus.shipped,
  ShipmentStatus.inTransit,
  ShipmentStatus.delivered,
]);

export interface LineProgress {
  readonly quantity: number;
  readonly quantity_shipped: number;
  readonly quantity_cancelled: number;
}

/**
 * The order's status from its lines and shipments, once it is being fulfilled: `delivered` when every
 * unit that will ship has shipped and every shipment that left has arrived; `shipped` when every such
 * unit has left; `partially_shipped` when some have; `cancelled` when nothing is left to ship and
 * nothing shipped; else `processing`.
 */
export function fulfillmentStatus(
  lines: readonly LineProgress[],
  shipments: readonly { readonly status: string }[],
): OrderStatusName {
  const toShip = lines.reduce((sum, l) => sum + l.quantity - l.quantity_cancelled, 0);
  const shipped = lines.reduce((sum, l) => sum + l.quantity_shipped, 0);
  if (toShip === 0) return shipped === 0 ? OrderStatus.cancelled : OrderStatus.shipped;
  if (shipped === 0) return OrderStatus.processing;
  if (shipped < toShip) return OrderStatus.partiallyShipped;
  const left = shipments.filter((s) => LEFT_WAREHOUSE.includes(s.status));
  return left.length > 0 && left.every((s) => s.status === ShipmentStatus.delivered)
    ? OrderStatus.delivered
    : OrderStatus.shipped;
}

export interface PricedUnits {
  readonly quantity: number;
  readonly unit_price: number;
}

/** A shipment's value: its items at the order's prices (orders carry no shipping charge or tax yet). */
export function shipmentValue(items: readonly PricedUnits[]): number {
  return items.reduce((sum, i) => sum + multiply(i.unit_price, i.quantity), 0);
}

/**
 * What to capture for a shipment: its value, capped by what the authorization has left after the
 * captures already made or under way, so the total never exceeds the authorization.
 */
export function captureAmount(value: number, authorized: number, alreadyCapturedOrPending: number): number {
  return Math.max(0, Math.min(value, authorized - alreadyCapturedOrPending));
}

/** The next carrier poll: `baseMs` doubled per poll that saw nothing new, up to `maxMs`. */
export function trackingBackoffMs(unchangedPolls: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(unchangedPolls, 20));
}

/**
 * Whether a tracked shipment moves forward by going to `next` (shipped → in transit → delivered):
 * tracking never moves a shipment backwards (a late `in_transit` after `delivered` is ignored).
 */
export function movesForward(current: string, next: ShipmentStatusName): boolean {
  const rank = (s: string) => (s === ShipmentStatus.delivered ? 2 : s === ShipmentStatus.inTransit ? 1 : 0);
  return rank(next) > rank(current);
}
