import { withTransaction } from '../../platform/db.js';
import { appendOrderEvents, type StoredEvent } from '../../store/eventStore.js';
import { testPool } from './env.js';
import { untypedEvent } from './untypedEvent.js';
import { uuidv7 } from '../../platform/ids.js';

export { prng } from '../../platform/prng.js';

export interface LifecycleEvent {
  readonly type: string;
  readonly payload: Record<string, unknown>;
}

/**
 * A random but valid placement lifecycle, as the saga emits it: placed, then either rejected for stock,
 * or reserved → (authorized | declined) and fraud checked in either order → confirmed, or compensated
 * and rejected; sometimes with an event type the view does not know.
 */
export function randomLifecycle(random: () => number, customerId: string): LifecycleEvent[] {
  const sagaId = uuidv7();
  const lines = 1 + Math.floor(random() * 3);
  const items = Array.from({ length: lines }, (_, i) => ({
    item_id: uuidv7(),
    sku: `SKU-${i}`,
    quantity: 1 + Math.floor(random() * 4),
    unit_price: 100 + Math.floor(random() * 900),
  }));
  const total = items.reduce((sum, i) => sum + i.quantity * i.unit_price, 0);
  const events: LifecycleEvent[] = [
    {
      type: 'order.placed',
      payload: {
        saga_id: sagaId,
        customer_id: customerId,
        channel: 'web',
        external_order_id: null,
        currency: 'USD',
        total_amount: total,
        items,
      },
    },
  ];
  if (random() < 0.15) {
    events.push({ type: 'order.rejected', payload: { saga_id: sagaId, reason: 'insufficient-stock' } });
    return events;
  }
  events.push({ type: 'inventory.reserved', payload: { saga_id: sagaId, reservations: [] } });
  const declined = random() < 0.2;
  const fraudRejected = !declined && random() < 0.2;
  const paymentId = uuidv7();
  const payment: LifecycleEvent = declined
    ? { type: 'payment.declined', payload: { saga_id: sagaId, amount: total, code: 'card_declined' } }
    : { type: 'payment.authorized', payload: { saga_id: sagaId, payment_id: paymentId, amount: total, currency: 'USD' } };
  const fraud: LifecycleEvent =
    random() < 0.3
      ? { type: 'fraud.checked', payload: { saga_id: sagaId, decision: 'skipped', reason: 'repeat customer' } }
      : {
          type: 'fraud.checked',
          payload: {
            saga_id: sagaId,
            decision: fraudRejected ? 'reject' : 'accept',
            score: fraudRejected ? 100 : 0,
            reasons: [],
          },
        };
  events.push(...(random() < 0.5 ? [payment, fraud] : [fraud, payment]));
  if (random() < 0.1) events.push({ type: 'test.unknownToTheView', payload: {} });
  if (declined || fraudRejected) {
    if (fraudRejected) events.push({ type: 'payment.voided', payload: { saga_id: sagaId } });
    events.push({ type: 'inventory.released', payload: { saga_id: sagaId, released: [] } });
    events.push({
      type: 'order.rejected',
      payload: { saga_id: sagaId, reason: declined ? 'payment-declined' : 'fraud-rejected' },
    });
  } else {
    events.push({ type: 'order.confirmed', payload: { saga_id: sagaId, payment_id: paymentId } });
    const roll = random();
    if (roll < 0.15) events.push(...cancellation());
    else if (roll < 0.85) {
      const fulfilled = randomFulfillment(random, items, paymentId, total);
      events.push(...fulfilled);
      if (random() < 0.4) events.push(...refund(items[0]!, paymentId));
    }
  }
  return events;
}

/**
 * What fulfillment appends after confirmation: one or two shipments, each created → picked (the first
 * line sometimes short, its missing units cancelled) → packed → shipped → captured and invoiced → in
 * transit → delivered, every event carrying the order status it leads to.
 */
function randomFulfillment(
  random: () => number,
  items: ReadonlyArray<{ item_id: string; sku: string; quantity: number; unit_price: number }>,
  paymentId: string,
  total: number,
): LifecycleEvent[] {
  const events: LifecycleEvent[] = [];
  const groups = items.length > 1 && random() < 0.5 ? [items.slice(0, 1), items.slice(1)] : [items];
  const shipments = groups.map((lines) => ({ shipment_id: uuidv7(), lines: lines.map((l) => ({ ...l })) }));
  for (const s of shipments) {
    const units = s.lines.map((l) => ({ item_id: l.item_id, sku: l.sku, quantity: l.quantity, unit_price: l.unit_price }));
    events.push({
      type: 'shipment.created',
      payload: { shipment_id: s.shipment_id, warehouse_id: 'WH-1', carrier: 'ups', items: units, order_status: 'processing' },
    });
  }
  let cancelled = 0;
  for (const s of shipments) {
    const first = s.lines[0]!;
    const short = first.quantity > 1 && random() < 0.3 ? 1 : 0;
    first.quantity -= short;
    cancelled += short * first.unit_price;
    const units = s.lines.map((l) => ({ item_id: l.item_id, sku: l.sku, quantity: l.quantity }));
    events.push({
      type: 'shipment.picked',
      payload: {
        shipment_id: s.shipment_id,
        items: units,
        short: short > 0 ? [{ item_id: first.item_id, sku: first.sku, quantity: short }] : [],
        order_status: 'processing',
      },
    });
    if (short > 0) {
      events.push({
        type: 'item.cancelled',
        payload: {
          items: [{ item_id: first.item_id, sku: first.sku, quantity: short }],
          reason: 'out_of_stock_after_short_pick',
          order_status: 'processing',
        },
      });
    }
  }
  let captured = 0;
  shipments.forEach((s, index) => {
    const last = index === shipments.length - 1;
    const units = s.lines.map((l) => ({ item_id: l.item_id, sku: l.sku, quantity: l.quantity }));
    const value = s.lines.reduce((sum, l) => sum + l.quantity * l.unit_price, 0);
    captured += value;
    const status = last ? 'shipped' : 'partially_shipped';
    events.push({ type: 'shipment.packed', payload: { shipment_id: s.shipment_id, order_status: 'processing' } });
    events.push({
      type: 'shipment.shipped',
      payload: {
        shipment_id: s.shipment_id,
        carrier: 'ups',
        tracking_number: `UPS-${index}`,
        items: units,
        order_status: status,
      },
    });
    events.push({
      type: 'payment.captured',
      payload: {
        payment_id: paymentId,
        shipment_id: s.shipment_id,
        amount: value,
        amount_captured: captured,
        payment_status: captured + cancelled >= total ? 'captured' : 'partially_captured',
        order_status: status,
      },
    });
    events.push({
      type: 'invoice.issued',
      payload: {
        invoice_id: uuidv7(),
        number: `INV-2026-${index}`,
        shipment_id: s.shipment_id,
        total: value,
        currency: 'USD',
        order_status: status,
      },
    });
  });
  shipments.forEach((s, index) => {
    const status = index === shipments.length - 1 ? 'delivered' : 'shipped';
    events.push({ type: 'shipment.in_transit', payload: { shipment_id: s.shipment_id, order_status: 'shipped' } });
    events.push({ type: 'shipment.delivered', payload: { shipment_id: s.shipment_id, order_status: status } });
  });
  return events;
}

/** A cancellation before routing, as the changes worker records it. */
function cancellation(): LifecycleEvent[] {
  const sagaId = uuidv7();
  return [
    { type: 'order.cancellation_requested', payload: { saga_id: sagaId, reason: 'changed my mind' } },
    { type: 'inventory.released', payload: { saga_id: sagaId, released: [] } },
    { type: 'payment.voided', payload: { saga_id: sagaId, authorization_ids: ['a1'] } },
    { type: 'order.cancelled', payload: { saga_id: sagaId, reason: 'changed my mind', order_status: 'cancelled' } },
  ];
}

/** A refund of one unit of a delivered line, with its credit note. */
function refund(line: { item_id: string; sku: string; unit_price: number }, paymentId: string): LifecycleEvent[] {
  const refundId = uuidv7();
  const sagaId = uuidv7();
  const items = [{ item_id: line.item_id, sku: line.sku, quantity: 1 }];
  return [
    {
      type: 'refund.requested',
      payload: { refund_id: refundId, saga_id: sagaId, amount: line.unit_price, currency: 'USD', reason: 'damaged', items },
    },
    {
      type: 'refund.issued',
      payload: {
        refund_id: refundId,
        saga_id: sagaId,
        amount: line.unit_price,
        currency: 'USD',
        reason: 'damaged',
        items,
        payments: [{ payment_id: paymentId, amount_refunded: line.unit_price, status: 'partially_refunded' }],
        credit_note: { invoice_id: uuidv7(), number: 'CN-2026-000001', total: line.unit_price },
      },
    },
  ];
}

/** Writes a lifecycle's events to the event log one transaction each, with distinct times, as the saga writes them. */
export async function storeLifecycle(orderId: string, events: readonly LifecycleEvent[]): Promise<StoredEvent[]> {
  const stored: StoredEvent[] = [];
  let seq = 0;
  for (const event of events) {
    const [one] = await withTransaction(testPool(), (tx) =>
      appendOrderEvents(tx, orderId, seq, [untypedEvent(event.type, event.payload)], new Date(Date.now() + seq)),
    );
    stored.push(one!);
    seq++;
  }
  return stored;
}
