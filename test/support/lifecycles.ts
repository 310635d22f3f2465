import { uuidv7 } from '../../platform/ids.js';

/** A small seeded PRNG (mulberry32): random test data that a failing seed reproduces. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
  }
  return events;
}
