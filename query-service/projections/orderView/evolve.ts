import type { OrderEventEnvelope, OrderEventTypeName } from '../../../domain/events.js';
import type { EventUnits } from '../../../domain/eventPayloads.js';
import type * as schemas from '../../schemas.js';
import type { ReadModel } from '../../schemas.js';

/**
 * The order view read model (contract §6) as a fold over the order's events: `evolve(view, event)`.
 * Pure: no I/O, no clock. The projector applies it to stored documents; replay folds a whole history.
 */
/** The view folds order event envelopes, typed by the order events' union (domain/events). */
export type OrderViewEvent = OrderEventEnvelope;

/** The events of some types. */
type EventOf<T extends OrderEventTypeName> = Extract<OrderViewEvent, { readonly type: T }>;

/** The view's types are its schemas' (query-service/schemas.ts), the ones the API description publishes. */
export type OrderViewItem = ReadModel<typeof schemas.orderViewItem>;
export type OrderViewPayment = ReadModel<typeof schemas.orderViewPayment>;
export type OrderViewShipment = ReadModel<typeof schemas.orderViewShipment>;
export type OrderViewInvoice = ReadModel<typeof schemas.orderViewInvoice>;
export type OrderViewRefund = ReadModel<typeof schemas.orderViewRefund>;
export type OrderViewSagaStep = ReadModel<typeof schemas.orderViewSagaStep>;
export type OrderView = ReadModel<typeof schemas.orderView>;

type Detail = Readonly<Record<string, unknown>>;

function step(view: OrderView, event: OrderViewEvent, name: string, status: string, detail?: Detail): OrderView['saga'] {
  const entry: OrderViewSagaStep =
    detail === undefined ? { name, status, at: event.occurred_at } : { name, status, at: event.occurred_at, detail };
  return { ...view.saga, current_step: name, steps: [...view.saga.steps, entry] };
}

/** The view `order.placed` starts. */
function placed(event: EventOf<'order.placed'>): OrderView {
  const p = event.payload;
  return {
    order_id: event.order_id,
    status: 'placed',
    version: event.seq,
    customer_id: p.customer_id,
    channel: p.channel,
    external_order_id: p.external_order_id ?? null,
    currency: p.currency,
    total_amount: p.total_amount,
    items: p.items.map((i) => ({
      item_id: i.item_id,
      sku: i.sku,
      quantity: i.quantity,
      unit_price: i.unit_price,
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
    saga: { saga_id: p.saga_id, status: 'running', current_step: 'reserve_inventory', steps: [] },
    created_at: event.occurred_at,
    updated_at: event.occurred_at,
  };
}

/** `base` with the order status the event states (`order_status`, on the events that move it). */
function withStatedStatus(base: OrderView, event: OrderViewEvent): OrderView {
  const p = event.payload;
  return { ...base, status: ('order_status' in p ? p.order_status : undefined) ?? base.status };
}

/** The view after one more event; `undefined` before `order.placed`. Events must come in seq order. */
export function evolve(view: OrderView | undefined, event: OrderViewEvent): OrderView | undefined {
  if (view === undefined) return event.type === 'order.placed' ? placed(event) : undefined;
  const base = { ...view, version: event.seq, updated_at: event.occurred_at };
  switch (event.type) {
    case 'inventory.reserved':
      return {
        ...base,
        items: view.items.map((i) => ({ ...i, status: 'reserved' })),
        saga: step(view, event, 'reserve_inventory', 'succeeded'),
      };
    case 'payment.authorized': {
      const p = event.payload;
      const payment = {
        payment_id: p.payment_id,
        amount_authorized: p.amount,
        amount_captured: 0,
        amount_refunded: 0,
        status: 'authorized',
      };
      // An edit's added authorization is not a step of the placement saga.
      if (p.saga_id !== view.saga.saga_id) return { ...base, payments: [...view.payments, payment] };
      return { ...base, payments: [...view.payments, payment], saga: step(view, event, 'authorize_payment', 'succeeded') };
    }
    case 'payment.declined':
      return { ...base, saga: step(view, event, 'authorize_payment', 'failed', { code: event.payload.code }) };
    case 'fraud.checked': {
      const p = event.payload;
      const status = p.decision === 'accept' ? 'succeeded' : p.decision === 'skipped' ? 'skipped' : 'failed';
      const detail = p.decision === 'skipped' ? { reason: p.reason } : { score: p.score, reasons: p.reasons };
      return { ...base, saga: step(view, event, 'check_fraud', status, detail) };
    }
    case 'payment.voided': {
      const payments = view.payments.map((pay) => (pay.status === 'authorized' ? { ...pay, status: 'voided' } : pay));
      // A cancellation's void is not a step of the placement saga.
      if (event.payload.saga_id !== view.saga.saga_id) return { ...base, payments };
      return { ...base, payments, saga: { ...step(view, event, 'void_authorization', 'succeeded'), status: 'compensating' } };
    }
    case 'inventory.released':
      if (event.payload.saga_id !== view.saga.saga_id) return base;
      return { ...base, saga: { ...step(view, event, 'release_inventory', 'succeeded'), status: 'compensating' } };
    case 'order.confirmed':
      return { ...base, status: 'confirmed', saga: { ...step(view, event, 'confirm_order', 'succeeded'), status: 'completed' } };
    case 'order.rejected':
      return {
        ...base,
        status: 'rejected',
        items: view.items.map((i) => ({ ...i, status: 'cancelled', quantity_cancelled: i.quantity })),
        saga: { ...step(view, event, 'reject_order', 'succeeded', { reason: event.payload.reason }), status: 'failed' },
      };
    case 'shipment.created':
    case 'shipment.picked':
    case 'shipment.packed':
    case 'shipment.cancelled':
    case 'shipment.shipped':
    case 'shipment.in_transit':
    case 'shipment.delivered':
    case 'item.cancelled':
    case 'payment.captured':
    case 'invoice.issued':
      return evolveFulfillment(view, withStatedStatus(base, event), event);
    case 'order.cancellation_requested':
    case 'order.cancellation_refused':
    case 'order.cancelled':
    case 'payment.released':
    case 'order.modification_requested':
    case 'order.modification_rejected':
    case 'order.modified':
    case 'refund.requested':
    case 'refund.failed':
    case 'refund.issued':
      return evolveChanges(view, withStatedStatus(base, event), event);
    // Not shown by the view (a second order.placed never comes): the version moves, and the status
    // where the event states one, so reads can wait for it.
    case 'order.placed':
    case 'shipment.short_picked':
    case 'shipment.cancel_requested':
    case 'payment.capture_failed':
      return withStatedStatus(base, event);
    default: {
      // Every type is handled above; one the code does not know yet (read from the log, which outlives
      // code) still moves the version, so reads can wait for it.
      const unreachable: never = event;
      void unreachable;
      return base;
    }
  }
}

type Units = ReadonlyArray<{ item_id: string; sku: string; quantity: number }>;

/** The units of a payload's list, without the fields the view does not keep (a shipment's prices). */
const units = (list: readonly EventUnits[]): Units => list.map((u) => ({ item_id: u.item_id, sku: u.sku, quantity: u.quantity }));

function updateShipment(view: OrderView, shipmentId: string, change: Partial<OrderViewShipment>): OrderViewShipment[] {
  return view.shipments.map((s) => (s.shipment_id === shipmentId ? { ...s, ...change } : s));
}

/** Each line's quantity by item id. */
function byItem(list: Units): Map<string, number> {
  const totals = new Map<string, number>();
  for (const u of list) totals.set(u.item_id, (totals.get(u.item_id) ?? 0) + u.quantity);
  return totals;
}

type FulfillmentEvent = EventOf<
  | 'shipment.created'
  | 'shipment.picked'
  | 'shipment.packed'
  | 'shipment.cancelled'
  | 'shipment.shipped'
  | 'shipment.in_transit'
  | 'shipment.delivered'
  | 'item.cancelled'
  | 'payment.captured'
  | 'invoice.issued'
>;

/**
 * Fulfillment events (issue 4): shipments, their picks, carriers and arrivals, captures and invoices.
 * `base` already carries the order status the event states (`order_status` in its payload).
 */
function evolveFulfillment(view: OrderView, base: OrderView, event: FulfillmentEvent): OrderView {
  switch (event.type) {
    case 'shipment.created': {
      const p = event.payload;
      const items = units(p.items);
      const routed = byItem(items);
      const shipment: OrderViewShipment = {
        shipment_id: p.shipment_id,
        warehouse_id: p.warehouse_id,
        carrier: p.carrier ?? null,
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
      return {
        ...base,
        shipments: updateShipment(view, event.payload.shipment_id, { status: 'picked', items: units(event.payload.items) }),
      };
    case 'shipment.packed':
      return { ...base, shipments: updateShipment(view, event.payload.shipment_id, { status: 'packed' }) };
    case 'shipment.cancelled':
      return { ...base, shipments: updateShipment(view, event.payload.shipment_id, { status: 'cancelled', items: [] }) };
    case 'shipment.shipped': {
      const p = event.payload;
      const shipped = byItem(units(p.items));
      return {
        ...base,
        shipments: updateShipment(view, p.shipment_id, {
          status: 'shipped',
          carrier: p.carrier ?? '',
          tracking_number: p.tracking_number ?? '',
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
      return { ...base, shipments: updateShipment(view, event.payload.shipment_id, { status: 'in_transit' }) };
    case 'shipment.delivered': {
      const shipments = updateShipment(view, event.payload.shipment_id, { status: 'delivered', delivered_at: event.occurred_at });
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
      const cancelled = byItem(units(event.payload.items));
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
    case 'payment.captured': {
      const p = event.payload;
      return {
        ...base,
        payments: view.payments.map((pay) =>
          pay.payment_id === p.payment_id ? { ...pay, amount_captured: p.amount_captured, status: p.payment_status } : pay,
        ),
      };
    }
    case 'invoice.issued': {
      const p = event.payload;
      return {
        ...base,
        invoices: [
          // Documents stored before invoices existed have none.
          ...(view.invoices ?? []),
          {
            invoice_id: p.invoice_id,
            number: p.number ?? '',
            shipment_id: p.shipment_id ?? null,
            total: p.total,
            currency: p.currency,
            issued_at: event.occurred_at,
          },
        ],
      };
    }
    default: {
      const unreachable: never = event;
      void unreachable;
      return base;
    }
  }
}

function updateRefund(view: OrderView, refundId: string, change: Partial<OrderViewRefund>): OrderViewRefund[] {
  return (view.refunds ?? []).map((r) => (r.refund_id === refundId ? { ...r, ...change } : r));
}

type ChangeEvent = EventOf<
  | 'order.cancellation_requested'
  | 'order.cancellation_refused'
  | 'order.cancelled'
  | 'payment.released'
  | 'order.modification_requested'
  | 'order.modification_rejected'
  | 'order.modified'
  | 'refund.requested'
  | 'refund.failed'
  | 'refund.issued'
>;

/**
 * Changes after placement (issue 6): cancellation, edits and refunds. `base` already carries the order
 * status the event states.
 */
function evolveChanges(view: OrderView, base: OrderView, event: ChangeEvent): OrderView {
  switch (event.type) {
    case 'order.cancellation_requested':
      return {
        ...base,
        cancellation: { saga_id: event.payload.saga_id, status: 'requested', reason: event.payload.reason ?? null },
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
      const { released } = event.payload;
      return {
        ...base,
        payments: view.payments.map((pay) => {
          const r = released.find((x) => x.payment_id === pay.payment_id);
          return r === undefined ? pay : { ...pay, amount_authorized: r.amount_authorized };
        }),
      };
    }
    case 'order.modification_requested':
      return { ...base, modification: { saga_id: event.payload.saga_id, status: 'requested' } };
    case 'order.modification_rejected':
      return { ...base, modification: { saga_id: event.payload.saga_id, status: 'rejected', reason: event.payload.reason } };
    case 'order.modified': {
      const p = event.payload;
      return {
        ...base,
        total_amount: p.total_amount,
        modification: { saga_id: p.saga_id, status: 'applied' },
        items: [
          ...view.items.map((i) => {
            const change = p.changes.find((c) => c.item_id === i.item_id);
            if (change === undefined) return i;
            if (change.to === 0) return { ...i, quantity_cancelled: i.quantity, status: 'removed' };
            return { ...i, quantity: i.quantity_cancelled + change.to };
          }),
          ...p.added.map((a) => ({
            item_id: a.item_id,
            sku: a.sku,
            quantity: a.quantity,
            unit_price: a.unit_price,
            status: 'reserved',
            quantity_shipped: 0,
            quantity_cancelled: 0,
            quantity_refunded: 0,
          })),
        ],
      };
    }
    case 'refund.requested': {
      const p = event.payload;
      return {
        ...base,
        refunds: [
          ...(view.refunds ?? []),
          {
            refund_id: p.refund_id,
            amount: p.amount,
            currency: p.currency,
            reason: p.reason,
            status: 'pending',
            items: units(p.items),
            credit_note: null,
          },
        ],
      };
    }
    case 'refund.failed':
      return { ...base, refunds: updateRefund(view, event.payload.refund_id, { status: 'failed' }) };
    case 'refund.issued': {
      const p = event.payload;
      const refunded = byItem(units(p.items));
      return {
        ...base,
        refunds: updateRefund(view, p.refund_id, {
          status: 'succeeded',
          credit_note: { invoice_id: p.credit_note.invoice_id, number: p.credit_note.number },
        }),
        payments: view.payments.map((pay) => {
          const refundedFrom = p.payments.find((r) => r.payment_id === pay.payment_id);
          return refundedFrom === undefined
            ? pay
            : { ...pay, amount_refunded: refundedFrom.amount_refunded, status: refundedFrom.status };
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
    default: {
      const unreachable: never = event;
      void unreachable;
      return base;
    }
  }
}

/** The view folded from a whole history (replay, as-of reads, and the reference in tests). */
export function fold(events: readonly OrderViewEvent[]): OrderView | undefined {
  return events.reduce<OrderView | undefined>((view, event) => evolve(view, event), undefined);
}
