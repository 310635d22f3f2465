import { OrderEventType } from './events.js';

/**
 * The order funnel (issue 15): for each order, when it reached each step — placed, confirmed or
 * rejected, first shipped, delivered, cancelled — folded from its events alone, so the funnel a
 * consumer keeps and the one a replay of the log computes are the same by construction. Pure.
 *
 * Cohorts: an order counts in the hour and channel it was placed in; each step's count is how many of
 * that cohort reached it, and a step's latency is measured from the step before it.
 */
export const FUNNEL_EVENT_TYPES: readonly string[] = Object.freeze([
  OrderEventType.orderPlaced,
  OrderEventType.orderConfirmed,
  OrderEventType.orderRejected,
  OrderEventType.shipmentCreated,
  OrderEventType.shipmentShipped,
  OrderEventType.shipmentCancelled,
  OrderEventType.shipmentDelivered,
  OrderEventType.orderCancelled,
]);

export interface FunnelEvent {
  readonly seq: number;
  readonly type: string;
  readonly occurredAt: Date;
  readonly payload: Readonly<Record<string, unknown>>;
}

export interface FunnelRow {
  readonly channel: string | null;
  readonly placedAt: Date | null;
  readonly confirmedAt: Date | null;
  readonly rejectedAt: Date | null;
  /** When its first shipment left a warehouse. */
  readonly shippedAt: Date | null;
  /** When its last shipment still to come was delivered (every shipment delivered or cancelled, one delivered). */
  readonly deliveredAt: Date | null;
  readonly cancelledAt: Date | null;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** One order's funnel row from its events (any order; they are sorted by seq here). */
export function foldFunnel(events: readonly FunnelEvent[]): FunnelRow {
  let row: { -readonly [K in keyof FunnelRow]: FunnelRow[K] } = {
    channel: null,
    placedAt: null,
    confirmedAt: null,
    rejectedAt: null,
    shippedAt: null,
    deliveredAt: null,
    cancelledAt: null,
  };
  const created = new Set<string>();
  const finished = new Map<string, 'delivered' | 'cancelled'>();
  for (const event of [...events].sort((a, b) => a.seq - b.seq)) {
    const shipment = text(event.payload.shipment_id);
    switch (event.type) {
      case OrderEventType.orderPlaced:
        row = { ...row, placedAt: event.occurredAt, channel: text(event.payload.channel) ?? null };
        break;
      case OrderEventType.orderConfirmed:
        row.confirmedAt ??= event.occurredAt;
        break;
      case OrderEventType.orderRejected:
        row.rejectedAt ??= event.occurredAt;
        break;
      case OrderEventType.orderCancelled:
        row.cancelledAt ??= event.occurredAt;
        break;
      case OrderEventType.shipmentCreated:
        if (shipment !== undefined) created.add(shipment);
        break;
      case OrderEventType.shipmentShipped:
        row.shippedAt ??= event.occurredAt;
        break;
      case OrderEventType.shipmentCancelled:
        if (shipment !== undefined) finished.set(shipment, 'cancelled');
        break;
      case OrderEventType.shipmentDelivered:
        if (shipment !== undefined) finished.set(shipment, 'delivered');
        if (
          row.deliveredAt === null &&
          created.size > 0 &&
          [...created].every((id) => finished.has(id)) &&
          [...finished.values()].includes('delivered')
        )
          row.deliveredAt = event.occurredAt;
        break;
      default:
        break;
    }
  }
  return row;
}
