import type { EventEnvelope } from '../../../domain/events.js';
import type * as schemas from '../../schemas.js';
import type { ReadModel } from '../../schemas.js';

/**
 * The order view read model (contract §6) as a fold over the order's events: `evolve(view, event)`.
 * Pure: no I/O, no clock. The projector applies it to stored documents; replay folds a whole history.
 */
/** The view folds order event envelopes. */
export type OrderViewEvent = EventEnvelope;

/** The view's types are its schemas' (query-service/schemas.ts), the ones the API description publishes. */
export type OrderViewItem = ReadModel<typeof schemas.orderViewItem>;
export type OrderViewPayment = ReadModel<typeof schemas.orderViewPayment>;
export type OrderViewShipment = ReadModel<typeof schemas.orderViewShipment>;
export type OrderViewInvoice = ReadModel<typeof schemas.orderViewInvoice>;
export type OrderViewRefund = ReadModel<typeof schemas.orderViewRefund>;
export type OrderViewSagaStep = ReadModel<typeof schemas.orderViewSagaStep>;
export type OrderView = ReadModel<typeof schemas.orderView>;

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
      invoices: [],
      cancellation: null,
      refunds: [],
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
    case 'payment.authorized': {
      const payment = {
        payment_id: str(p, 'payment_id'),
        amount_authorized: num(p, 'amount'),
        amount_captured: 0,
        amount_refunded: 0,
        status: 'authorized',
      };
      // An edit's added authorization is not a step of the placement saga.
      if (p.saga_id !== view.saga.saga_id) return { ...base, payments: [...view.payments, payment] };
      return { ...base, payments: [...view.payments, payment], saga: step(view, event, 'authorize_payment', 'succeeded') };
    }
    case 'payment.declined':
      return { ...base, saga: step(view, event, 'authorize_payment', 'failed', { code: p.code }) };
    case 'fraud.checked': {
      const decision = str(p, 'decision');
      const status = decision === 'accept' ? 'succeeded' : decision === 'skipped' ? 'skipped' : 'failed';
      const detail = decision === 'skipped' ? { reason: p.reason } : { score: p.score, reasons: p.reasons };
      return { ...base, saga: step(view, event, 'check_fraud', status, detail) };
    }
    case 'payment.voided': {
      const payments = view.payments.map((pay) => (pay.status === 'authorized' ? { ...pay, status: 'voided' } : pay));
      // A cancellation's void is not a step of the placement saga.
      if (p.saga_id !== view.saga.saga_id) return { ...base, payments };
      return { ...base, payments, saga: { ...step(view, event, 'void_authorization', 'succeeded'), status: 'compensating' } };
    }
    case 'inventory.released':
      if (p.saga_id !== view.saga.saga_id) return base;
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
    default: {
      const withStatus = { ...base, status: typeof p.order_status === 'string' ? p.order_status : base.status };
      return evolveChanges(view, evolveFulfillment(view, withStatus, event), event);
    }
  }
}

type Units = ReadonlyArray<{ item_id: string; sku: string; quantity: number }>;

const units = (value: unknown): Units =>
  (Array.isArray(value) ? (value as Array<Record<string, unknown>>) : []).map((u) => ({
    item_id: str(u, 'item_id'),
    sku: str(u, 'sku'),
    quantity: num(u, 'quantity'),
  }));

function updateShipment(view: OrderView, shipmentId: string, change: Partial<OrderViewShipment>): OrderViewShipment[] {
  return view.shipments.map((s) => (s.shipment_id === shipmentId ? { ...s, ...change } : s));
}

/** Each line's quantity by item id. */
function byItem(list: Units): Map<string, number> {
  const totals = new Map<string, number>();
  for (const u of list) totals.set(u.item_id, (totals.get(u.item_id) ?? 0) + u.quantity);
  return totals;
}

/**
 * Fulfillment events (issue 4): shipments, their picks, carriers and arrivals, captures and invoices.
 * `base` already carries the order status the event states (`order_status` in its payload).
 */
function evolveFulfillment(view: OrderView, base: OrderView, event: OrderViewEvent): OrderView {
  const p = event.payload;
  const shipmentId = str(p, 'shipment_id');
  switch (event.type) {
    case 'shipment.created': {
      const items = units(p.items);
      const routed = byItem(items);
      const shipment: OrderViewShipment = {
        shipment_id: shipmentId,
        warehouse_id: str(p, 'warehouse_id'),
        carrier: typeof p.carrier === 'string' ? p.carrier : null,
        tracking_number: null,
        status: 'created',
        items,
        shipped_at: null,
        delivered_at: null,
      };
      return {
        ...base,
        shipments: [...view.shipments, shipment],
        items: view.items.map((i) => (routed.has(i.item_id) && i.quantity_shipped === 0 ? { ...i, status: 'allocated' } : i)),
      };
    }
    case 'shipment.picked':
      return { ...base, shipments: updateShipment(view, shipmentId, { status: 'picked', items: units(p.items) }) };
    case 'shipment.packed':
      return { ...base, shipments: updateShipment(view, shipmentId, { status: 'packed' }) };
    case 'shipment.cancelled':
      return { ...base, shipments: updateShipment(view, shipmentId, { status: 'cancelled', items: [] }) };
    case 'shipment.shipped': {
      const shipped = byItem(units(p.items));
      return {
        ...base,
        shipments: updateShipment(view, shipmentId, {
          status: 'shipped',
          carrier: str(p, 'carrier'),
          tracking_number: str(p, 'tracking_number'),
          shipped_at: event.occurred_at,
          items: units(p.items),
        }),
        items: view.items.map((i) => {
          const more = shipped.get(i.item_id) ?? 0;
          if (more === 0) return i;
          const quantityShipped = i.quantity_shipped + more;
          const done = quantityShipped + i.quantity_cancelled >= i.quantity;
          return { ...i, quantity_shipped: quantityShipped, status: done ? 'shipped' : 'partially_shipped' };
        }),
      };
    }
    case 'shipment.in_transit':
      return { ...base, shipments: updateShipment(view, shipmentId, { status: 'in_transit' }) };
    case 'shipment.delivered': {
      const shipments = updateShipment(view, shipmentId, { status: 'delivered', delivered_at: event.occurred_at });
      const arrived = (itemId: string) =>
        shipments.every(
          (s) => s.status === 'delivered' || s.status === 'cancelled' || !s.items.some((u) => u.item_id === itemId),
        );
      return {
        ...base,
        shipments,
        items: view.items.map((i) =>
          i.quantity_shipped > 0 && i.quantity_shipped + i.quantity_cancelled >= i.quantity && arrived(i.item_id)
            ? { ...i, status: 'delivered' }
            : i,
        ),
      };
    }
    case 'item.cancelled': {
      const cancelled = byItem(units(p.items));
      return {
        ...base,
        items: view.items.map((i) => {
          const more = cancelled.get(i.item_id) ?? 0;
          if (more === 0) return i;
          const quantityCancelled = i.quantity_cancelled + more;
          const status = quantityCancelled >= i.quantity ? 'cancelled' : i.status;
          return { ...i, quantity_cancelled: quantityCancelled, status };
        }),
      };
    }
    case 'payment.captured':
      return {
        ...base,
        payments: view.payments.map((pay) =>
          pay.payment_id === str(p, 'payment_id')
            ? { ...pay, amount_captured: num(p, 'amount_captured'), status: str(p, 'payment_status') }
            : pay,
        ),
      };
    case 'invoice.issued':
      return {
        ...base,
        invoices: [
          // Documents stored before invoices existed have none.
          ...(view.invoices ?? []),
          {
            invoice_id: str(p, 'invoice_id'),
            number: str(p, 'number'),
            shipment_id: typeof p.shipment_id === 'string' ? p.shipment_id : null,
            total: num(p, 'total'),
            currency: str(p, 'currency'),
            issued_at: event.occurred_at,
          },
        ],
      };
    default:
      // An event this view does not show still moves its version: reads can wait for it.
      return base;
  }
}

function updateRefund(view: OrderView, refundId: string, change: Partial<OrderViewRefund>): OrderViewRefund[] {
  return (view.refunds ?? []).map((r) => (r.refund_id === refundId ? { ...r, ...change } : r));
}

/**
 * Changes after placement (issue 6): cancellation and refunds. `base` is the view after the
 * fulfillment fold (which leaves these events alone but for the status they carry).
 */
function evolveChanges(view: OrderView, base: OrderView, event: OrderViewEvent): OrderView {
  const p = event.payload;
  switch (event.type) {
    case 'order.cancellation_requested':
      return {
        ...base,
        cancellation: { saga_id: str(p, 'saga_id'), status: 'requested', reason: (p.reason as string | null) ?? null },
      };
    case 'order.cancellation_refused':
      return { ...base, cancellation: view.cancellation ? { ...view.cancellation, status: 'partially_cancelled' } : null };
    case 'order.cancelled':
      return {
        ...base,
        status: 'cancelled',
        cancellation: view.cancellation ? { ...view.cancellation, status: 'cancelled' } : null,
        items: view.items.map((i) => ({
          ...i,
          quantity_cancelled: i.quantity - i.quantity_shipped,
          status: i.quantity_shipped === 0 ? 'cancelled' : i.status,
        })),
      };
    case 'payment.released': {
      const released = (Array.isArray(p.released) ? p.released : []) as Payload[];
      return {
        ...base,
        payments: view.payments.map((pay) => {
          const r = released.find((x) => x.payment_id === pay.payment_id);
          return r === undefined ? pay : { ...pay, amount_authorized: num(r, 'amount_authorized') };
        }),
      };
    }
    case 'order.modification_requested':
      return { ...base, modification: { saga_id: str(p, 'saga_id'), status: 'requested' } };
    case 'order.modification_rejected':
      return { ...base, modification: { saga_id: str(p, 'saga_id'), status: 'rejected', reason: str(p, 'reason') } };
    case 'order.modified': {
      const changes = (Array.isArray(p.changes) ? p.changes : []) as Array<{ item_id: string; to: number }>;
      const added = (Array.isArray(p.added) ? p.added : []) as Array<Record<string, unknown>>;
      return {
        ...base,
        total_amount: num(p, 'total_amount'),
        modification: { saga_id: str(p, 'saga_id'), status: 'applied' },
        items: [
          ...view.items.map((i) => {
            const change = changes.find((c) => c.item_id === i.item_id);
            if (change === undefined) return i;
            if (change.to === 0) return { ...i, quantity_cancelled: i.quantity, status: 'removed' };
            return { ...i, quantity: i.quantity_cancelled + change.to };
          }),
          ...added.map((a) => ({
            item_id: str(a, 'item_id'),
            sku: str(a, 'sku'),
            quantity: num(a, 'quantity'),
            unit_price: num(a, 'unit_price'),
            status: 'reserved',
            quantity_shipped: 0,
            quantity_cancelled: 0,
            quantity_refunded: 0,
          })),
        ],
      };
    }
    case 'refund.requested':
      return {
        ...base,
        refunds: [
          ...(view.refunds ?? []),
          {
            refund_id: str(p, 'refund_id'),
            amount: num(p, 'amount'),
            currency: str(p, 'currency'),
            reason: str(p, 'reason'),
            status: 'pending',
            items: units(p.items),
            credit_note: null,
          },
        ],
      };
    case 'refund.failed':
      return { ...base, refunds: updateRefund(view, str(p, 'refund_id'), { status: 'failed' }) };
    case 'refund.issued': {
      const note = (p.credit_note ?? {}) as Payload;
      const refunded = byItem(units(p.items));
      return {
        ...base,
        refunds: updateRefund(view, str(p, 'refund_id'), {
          status: 'succeeded',
          credit_note: { invoice_id: str(note, 'invoice_id'), number: str(note, 'number') },
        }),
        payments: view.payments.map((pay) => {
          const refundedFrom = (Array.isArray(p.payments) ? (p.payments as Payload[]) : []).find(
            (r) => r.payment_id === pay.payment_id,
          );
          return refundedFrom === undefined
            ? pay
            : { ...pay, amount_refunded: num(refundedFrom, 'amount_refunded'), status: str(refundedFrom, 'status') };
        }),
        items: view.items.map((i) => {
          const more = refunded.get(i.item_id) ?? 0;
          if (more === 0) return i;
          const quantityRefunded = i.quantity_refunded + more;
          return {
            ...i,
            quantity_refunded: quantityRefunded,
            status: quantityRefunded >= i.quantity_shipped ? 'refunded' : i.status,
          };
        }),
      };
    }
    default:
      return base;
  }
}

/** The view folded from a whole history (replay, as-of reads, and the reference in tests). */
export function fold(events: readonly OrderViewEvent[]): OrderView | undefined {
  return events.reduce<OrderView | undefined>((view, event) => evolve(view, event), undefined);
}
