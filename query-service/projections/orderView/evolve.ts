import type { EventEnvelope } from '../../../domain/events.js';

/**
 * The order view read model (contract §6) as a fold over the order's events: `evolve(view, event)`.
 * Pure: no I/O, no clock. The projector applies it to stored documents; replay folds a whole history.
 */
/** The view folds order event envelopes. */
export type OrderViewEvent = EventEnvelope;

export interface OrderViewItem {
  readonly item_id: string;
  readonly sku: string;
  readonly quantity: number;
  readonly unit_price: number;
  readonly status: string;
  readonly quantity_shipped: number;
  readonly quantity_cancelled: number;
  readonly quantity_refunded: number;
}

export interface OrderViewPayment {
  readonly payment_id: string;
  readonly amount_authorized: number;
  readonly amount_captured: number;
  readonly amount_refunded: number;
  readonly status: string;
}

export interface OrderViewSagaStep {
  readonly name: string;
  readonly status: string;
  readonly at: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface OrderView {
  readonly order_id: string;
  readonly status: string;
  readonly version: number;
  readonly customer_id: string;
  readonly channel: string;
  readonly external_order_id: string | null;
  readonly currency: string;
  readonly total_amount: number;
  readonly items: readonly OrderViewItem[];
  readonly shipments: readonly Readonly<Record<string, unknown>>[];
  readonly payments: readonly OrderViewPayment[];
  readonly saga: {
    readonly saga_id: string;
    readonly status: string;
    readonly current_step: string;
    readonly steps: readonly OrderViewSagaStep[];
  };
  readonly created_at: string;
  readonly updated_at: string;
}

type Payload = Readonly<Record<string, unknown>>;

const str = (payload: Payload, key: string): string => String(payload[key] ?? '');
const num = (payload: Payload, key: string): number => Number(payload[key] ?? 0);

function step(view: OrderView, event: OrderViewEvent, name: string, status: string, detail?: Payload): OrderView['saga'] {
  const entry: OrderViewSagaStep =
    detail === undefined ? { name, status, at: event.occurred_at } : { name, status, at: event.occurred_at, detail };
  return { ...view.saga, current_step: name, steps: [...view.saga.steps, entry] };
}

/** The view after one more event; `undefined` before `order.placed`. Events must come in seq order. */
export function evolve(view: OrderView | undefined, event: OrderViewEvent): OrderView | undefined {
  const p = event.payload;
  if (view === undefined) {
    if (event.type !== 'order.placed') return undefined;
    const items = (p.items as Array<Record<string, unknown>> | undefined) ?? [];
    return {
      order_id: event.order_id,
      status: 'placed',
      version: event.seq,
      customer_id: str(p, 'customer_id'),
      channel: str(p, 'channel'),
      external_order_id: (p.external_order_id as string | null | undefined) ?? null,
      currency: str(p, 'currency'),
      total_amount: num(p, 'total_amount'),
      items: items.map((i) => ({
        item_id: str(i, 'item_id'),
        sku: str(i, 'sku'),
        quantity: num(i, 'quantity'),
        unit_price: num(i, 'unit_price'),
        status: 'pending',
        quantity_shipped: 0,
        quantity_cancelled: 0,
        quantity_refunded: 0,
      })),
      shipments: [],
      payments: [],
      saga: { saga_id: str(p, 'saga_id'), status: 'running', current_step: 'reserve_inventory', steps: [] },
      created_at: event.occurred_at,
      updated_at: event.occurred_at,
    };
  }
  const base = { ...view, version: event.seq, updated_at: event.occurred_at };
  switch (event.type) {
    case 'inventory.reserved':
      return {
        ...base,
        items: view.items.map((i) => ({ ...i, status: 'reserved' })),
        saga: step(view, event, 'reserve_inventory', 'succeeded'),
      };
    case 'payment.authorized':
      return {
        ...base,
        payments: [
          ...view.payments,
          {
            payment_id: str(p, 'payment_id'),
            amount_authorized: num(p, 'amount'),
            amount_captured: 0,
            amount_refunded: 0,
            status: 'authorized',
          },
        ],
        saga: step(view, event, 'authorize_payment', 'succeeded'),
      };
    case 'payment.declined':
      return { ...base, saga: step(view, event, 'authorize_payment', 'failed', { code: p.code }) };
    case 'fraud.checked': {
      const decision = str(p, 'decision');
      const status = decision === 'accept' ? 'succeeded' : decision === 'skipped' ? 'skipped' : 'failed';
      const detail = decision === 'skipped' ? { reason: p.reason } : { score: p.score, reasons: p.reasons };
      return { ...base, saga: step(view, event, 'check_fraud', status, detail) };
    }
    case 'payment.voided':
      return {
        ...base,
        payments: view.payments.map((pay) => (pay.status === 'authorized' ? { ...pay, status: 'voided' } : pay)),
        saga: { ...step(view, event, 'void_authorization', 'succeeded'), status: 'compensating' },
      };
    case 'inventory.released':
      return { ...base, saga: { ...step(view, event, 'release_inventory', 'succeeded'), status: 'compensating' } };
    case 'order.confirmed':
      return { ...base, status: 'confirmed', saga: { ...step(view, event, 'confirm_order', 'succeeded'), status: 'completed' } };
    case 'order.rejected':
      return {
        ...base,
        status: 'rejected',
        items: view.items.map((i) => ({ ...i, status: 'cancelled', quantity_cancelled: i.quantity })),
        saga: { ...step(view, event, 'reject_order', 'succeeded', { reason: p.reason }), status: 'failed' },
      };
    default:
      // An event this view does not show yet still moves its version: reads can wait for it.
      return base;
  }
}

/** The view folded from a whole history (replay, as-of reads, and the reference in tests). */
export function fold(events: readonly OrderViewEvent[]): OrderView | undefined {
  return events.reduce<OrderView | undefined>((view, event) => evolve(view, event), undefined);
}
