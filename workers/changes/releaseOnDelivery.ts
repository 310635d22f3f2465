import { OrderEventType, type OrderEventEnvelopeOf } from '../../domain/events.js';
import { OrderStatus } from '../../domain/order.js';
import { oneByOne, type HandlingFailure } from '../../platform/messageHandler.js';
import type { StreamMessage } from '../../platform/streamConsumer.js';
import { forOrder } from '../../platform/traceScope.js';
import { handleOnce, wasProcessed } from '../../store/inbox.js';
import { openAuthorizations, openAuthorizationsOf, shrinkAuthorization } from '../../store/payments.js';
import type { ChangeContext } from './changeContext.js';

export const CHANGES_CONSUMER = 'changes';

/**
 * When an order is delivered, nothing more will be captured: what its authorizations hold beyond their
 * captures (units cancelled after a short pick, the part a racing cancellation did cancel) is released
 * at the PSP (a partial reversal keyed by the event, so a redelivery cannot release twice), then in our
 * books with `payment.released`. A PSP that does not answer leaves the event pending: it is retried.
 * Answers how many authorizations it released.
 */
export async function releaseUncapturedOnDelivery(
  context: ChangeContext,
  event: OrderEventEnvelopeOf<'shipment.delivered'>,
): Promise<number> {
  if (event.payload.order_status !== OrderStatus.delivered) return 0;
  if (await wasProcessed(context.pool, CHANGES_CONSUMER, event.event_id)) return 0;
  const released: Array<{ payment_id: string; amount: number }> = [];
  for (const p of await openAuthorizations(context.pool, event.order_id)) {
    const free = p.amount - p.committed;
    if (free <= 0) continue;
    const outcome = await context.psp.reverse(p.authorization_code, free, `${event.event_id}:release:${p.payment_id}`);
    if (outcome.kind === 'voided') released.push({ payment_id: p.payment_id, amount: free });
    else context.logger.warn({ order_id: event.order_id, payment_id: p.payment_id, outcome }, 'PSP kept the uncaptured rest');
  }
  // Nothing released (the usual case: everything was captured): nothing to book, and a redelivery
  // finds nothing to release either.
  if (released.length === 0) return 0;
  return handleOnce(context.pool, CHANGES_CONSUMER, [event], {
    entryOf: (e) => ({ orderId: e.order_id, messageId: e.event_id }),
    handle: async (tx, claimed) => {
      if (claimed.length === 0) return { appends: [], result: 0 };
      const rows = [];
      for (const r of released) rows.push({ ...r, amount_authorized: await shrinkAuthorization(tx, r.payment_id, r.amount) });
      const payload = { reason: 'order_delivered', released: rows };
      return {
        appends: [{ orderId: event.order_id, events: [{ type: OrderEventType.paymentReleased, payload }] }],
        result: released.length,
      };
    },
  });
}

/**
 * Of these `shipment.delivered` events, those whose order was delivered and still holds something
 * authorized beyond its captures (what releaseUncapturedOnDelivery would release): one statement for
 * all of them. The usual delivered order has everything captured and needs nothing more.
 */
export async function deliveriesWithUncaptured(
  context: ChangeContext,
  events: ReadonlyArray<OrderEventEnvelopeOf<'shipment.delivered'>>,
): Promise<Set<string>> {
  const delivered = events.filter((e) => e.payload.order_status === OrderStatus.delivered);
  if (delivered.length === 0) return new Set();
  const open = await openAuthorizationsOf(context.pool, [...new Set(delivered.map((e) => e.order_id))]);
  return new Set(
    delivered.filter((e) => (open.get(e.order_id) ?? []).some((p) => p.amount - p.committed > 0)).map((e) => e.event_id),
  );
}

type ShipmentDelivered = StreamMessage<OrderEventEnvelopeOf<'shipment.delivered'>>;

/**
 * `shipment.delivered`, every entry of a read at once: one statement tells which orders still hold
 * something to release (usually none); those are released one by one, each under its order's
 * correlation (platform/traceScope).
 */
export async function onShipmentsDelivered(
  context: ChangeContext,
  messages: readonly ShipmentDelivered[],
): Promise<readonly HandlingFailure<ShipmentDelivered>[]> {
  const toRelease = await deliveriesWithUncaptured(
    context,
    messages.map((m) => m.event),
  );
  return oneByOne<ShipmentDelivered>(async ({ event }) => {
    if (toRelease.has(event.event_id)) await forOrder(event.order_id, () => releaseUncapturedOnDelivery(context, event));
  })(messages);
}
