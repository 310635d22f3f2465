import type { OrderEventTypeName } from './eventTypes.js';
import type { OrderPlaced } from './order.js';

/**
 * The payload of every order event, as its producers write it today (the JSON in `order_events`, the
 * outbox, Kafka and Redis Streams: these types describe it, they do not change it). Ids are plain
 * strings here: they arrive from JSON. `order_status` is the order's status after the event, written
 * by the producers that move it.
 */

/** Units of one order line (an item of a shipment, a refund, a cancellation). */
export interface EventUnits {
  readonly item_id: string;
  readonly sku: string;
  readonly quantity: number;
}

/** Stock taken or given back in one warehouse. */
export interface EventStockLine {
  readonly warehouse_id: string;
  readonly sku: string;
  readonly quantity: number;
}

/** The order's status after the event, on the events that move it. */
interface MovesOrderStatus {
  readonly order_status?: string;
}

export type OrderPlacedPayload = OrderPlaced;

export interface InventoryReservedPayload {
  readonly saga_id: string;
  readonly reservations: ReadonlyArray<EventStockLine & { readonly item_id: string }>;
}

/** Stock given back: by the placement saga's compensation or by a cancellation. */
export interface InventoryReleasedPayload {
  readonly saga_id: string;
  readonly released: readonly EventStockLine[];
}

/** By the placement saga (the order's total) or by an edit (the added amount). */
export interface PaymentAuthorizedPayload {
  readonly saga_id: string;
  readonly payment_id: string;
  readonly amount: number;
  /** Absent when an edit found no currency on the order (never in practice). */
  readonly currency?: string;
  /** The placement saga's PSP authorization. */
  readonly authorization_id?: string;
}

export interface PaymentDeclinedPayload {
  readonly saga_id: string;
  readonly amount: number;
  readonly code: string;
}

export interface PaymentVoidedPayload {
  readonly saga_id: string;
  readonly authorization_ids: readonly string[];
}

/** Part of an authorization released: by an edit (`saga_id`) or once an order is delivered (`reason`). */
export interface PaymentReleasedPayload {
  readonly saga_id?: string;
  readonly reason?: string;
  readonly released: ReadonlyArray<{
    readonly payment_id: string;
    readonly amount: number;
    readonly amount_authorized: number;
    readonly authorization_id?: string;
  }>;
}

export interface FraudCheckedPayload {
  readonly saga_id: string;
  readonly decision: 'accept' | 'reject' | 'skipped';
  /** Why it was skipped. */
  readonly reason?: string;
  readonly score?: number;
  readonly reasons?: readonly string[];
}

export interface OrderConfirmedPayload {
  readonly saga_id: string;
  readonly total_amount: number;
  readonly currency: string;
  readonly payment_id: string | null;
  readonly fraud_check: string | null;
}

export interface OrderRejectedPayload {
  readonly saga_id: string;
  readonly reason: string;
}

export interface ShipmentCreatedPayload extends MovesOrderStatus {
  readonly shipment_id: string;
  readonly warehouse_id: string;
  readonly carrier: string | null;
  readonly destination_country: string;
  readonly items: ReadonlyArray<EventUnits & { readonly unit_price: number }>;
  readonly routing: { readonly reason: string; readonly score: number | null; readonly distance_km: number | null };
}

export interface ShipmentPickedPayload extends MovesOrderStatus {
  readonly shipment_id: string;
  readonly items: readonly EventUnits[];
  /** The units the warehouse did not have. */
  readonly short: readonly EventUnits[];
}

export interface ShipmentShortPickedPayload extends MovesOrderStatus {
  readonly shipment_id: string;
  readonly warehouse_id: string;
  /** The units the warehouse did not have. */
  readonly short: readonly EventUnits[];
}

export interface ShipmentPackedPayload extends MovesOrderStatus {
  readonly shipment_id: string;
}

export interface ShipmentShippedPayload extends MovesOrderStatus {
  readonly shipment_id: string;
  readonly warehouse_id: string;
  /** As the warehouse reported it. */
  readonly carrier?: string;
  readonly tracking_number?: string;
  readonly items: readonly EventUnits[];
}

export interface ShipmentCancelledPayload extends MovesOrderStatus {
  readonly shipment_id: string;
  readonly reason: string;
}

/** The carrier's news: `shipment.in_transit` and `shipment.delivered`. */
export interface ShipmentTrackedPayload extends MovesOrderStatus {
  readonly shipment_id: string;
  readonly carrier: string | null;
  readonly tracking_number: string | null;
}

/** Units that will not ship: nothing left after a short pick (router), or shipped before a cancellation. */
export interface ItemCancelledPayload extends MovesOrderStatus {
  readonly items: readonly EventUnits[];
  readonly reason: string;
  readonly saga_id?: string;
  readonly released?: readonly EventStockLine[];
}

export interface PaymentCapturedPayload {
  readonly payment_id: string;
  readonly capture_id: string;
  readonly psp_capture_id: string;
  readonly shipment_id: string;
  readonly amount: number;
  readonly currency: string;
  /** The payment's captured total after this capture. */
  readonly amount_captured: number;
  readonly payment_status: 'captured' | 'partially_captured';
}

export interface PaymentCaptureFailedPayload {
  readonly capture_id: string;
  readonly shipment_id: string;
  readonly amount: number;
  readonly reason: string;
}

export interface InvoiceIssuedPayload {
  readonly invoice_id: string;
  /** Set by the store as the invoice is numbered, in the statement that appends the event. */
  readonly number?: string;
  readonly capture_id: string;
  readonly shipment_id: string;
  readonly total: number;
  readonly currency: string;
}

/** A line's quantity changed by an edit. */
export interface EventLineChange {
  readonly item_id: string;
  readonly sku: string;
  readonly from: number;
  readonly to: number;
}

/** What an edit changes: asked (the new total as `new_total`) and done (as `total_amount`). */
interface OrderEdit {
  readonly saga_id: string;
  readonly added: ReadonlyArray<EventUnits & { readonly unit_price: number }>;
  readonly address_changed: boolean;
  readonly previous_total: number;
}

export interface OrderModificationRequestedPayload extends OrderEdit {
  /** The edit plan's changes, with their unit prices. */
  readonly changes: ReadonlyArray<EventLineChange & { readonly unit_price: number }>;
  readonly new_total: number;
}

export interface OrderModifiedPayload extends OrderEdit, MovesOrderStatus {
  readonly changes: readonly EventLineChange[];
  readonly total_amount: number;
}

export interface OrderModificationRejectedPayload extends MovesOrderStatus {
  readonly saga_id: string;
  readonly reason: string;
}

export interface OrderCancellationRequestedPayload {
  readonly saga_id: string;
  readonly reason: string | null;
}

export interface OrderCancellationRefusedPayload extends MovesOrderStatus {
  readonly saga_id: string;
  readonly shipped: readonly string[];
}

export interface ShipmentCancelRequestedPayload {
  readonly saga_id: string;
  readonly shipment_id: string;
  readonly warehouse_id: string;
  /** `modification` when an edit asks: the shipment comes back to be routed again. */
  readonly purpose?: 'modification';
}

export interface OrderCancelledPayload extends MovesOrderStatus {
  readonly saga_id: string;
  readonly reason: string | null;
}

export interface RefundRequestedPayload {
  readonly refund_id: string;
  readonly saga_id: string;
  readonly amount: number;
  readonly currency: string;
  readonly reason: string;
  /** The refunded lines (none for an amount): their prices and what each comes to. */
  readonly items: ReadonlyArray<EventUnits & { readonly unit_price: number; readonly amount: number }>;
}

export interface RefundIssuedPayload {
  readonly refund_id: string;
  readonly saga_id: string;
  readonly payment_id: string | null;
  readonly amount: number;
  readonly currency: string;
  readonly reason: string;
  /** Empty for a partial refund. */
  readonly items: readonly EventUnits[];
  /** The PSP refused part of the amount. */
  readonly partial?: { readonly requested_amount: number; readonly refused?: string };
  readonly allocations: ReadonlyArray<{
    readonly capture_id: string;
    readonly payment_id: string;
    readonly psp_capture_id: string;
    readonly psp_refund_id: string;
    readonly amount: number;
  }>;
  readonly payments: ReadonlyArray<{ readonly payment_id: string; readonly amount_refunded: number; readonly status: string }>;
  readonly credit_note: { readonly invoice_id: string; readonly number: string; readonly total: number };
}

export interface RefundFailedPayload {
  readonly refund_id: string;
  readonly saga_id: string;
  readonly amount: number;
  readonly reason: string;
}

/**
 * Every event type's payload. Keyed by OrderEventTypeName: a type added to the frozen table without a
 * payload here fails to compile (`PAYLOAD_SHAPES` below is typed by both).
 */
export interface EventPayloads {
  'order.placed': OrderPlacedPayload;
  'inventory.reserved': InventoryReservedPayload;
  'inventory.released': InventoryReleasedPayload;
  'payment.authorized': PaymentAuthorizedPayload;
  'payment.declined': PaymentDeclinedPayload;
  'payment.voided': PaymentVoidedPayload;
  'payment.released': PaymentReleasedPayload;
  'fraud.checked': FraudCheckedPayload;
  'order.confirmed': OrderConfirmedPayload;
  'order.rejected': OrderRejectedPayload;
  'shipment.created': ShipmentCreatedPayload;
  'shipment.picked': ShipmentPickedPayload;
  'shipment.short_picked': ShipmentShortPickedPayload;
  'shipment.packed': ShipmentPackedPayload;
  'shipment.shipped': ShipmentShippedPayload;
  'shipment.cancelled': ShipmentCancelledPayload;
  'shipment.in_transit': ShipmentTrackedPayload;
  'shipment.delivered': ShipmentTrackedPayload;
  'item.cancelled': ItemCancelledPayload;
  'payment.captured': PaymentCapturedPayload;
  'payment.capture_failed': PaymentCaptureFailedPayload;
  'invoice.issued': InvoiceIssuedPayload;
  'order.modification_requested': OrderModificationRequestedPayload;
  'order.modified': OrderModifiedPayload;
  'order.modification_rejected': OrderModificationRejectedPayload;
  'order.cancellation_requested': OrderCancellationRequestedPayload;
  'order.cancellation_refused': OrderCancellationRefusedPayload;
  'shipment.cancel_requested': ShipmentCancelRequestedPayload;
  'order.cancelled': OrderCancelledPayload;
  'refund.requested': RefundRequestedPayload;
  'refund.issued': RefundIssuedPayload;
  'refund.failed': RefundFailedPayload;
}

/** What a top-level payload field holds, as JSON: a trailing `?` means it may be absent. */
type Kind = 'string' | 'number' | 'boolean' | 'array' | 'object' | 'string|null' | 'number|null' | 'object|null';

type KindOf<T> = [T] extends [string]
  ? 'string'
  : [T] extends [number]
    ? 'number'
    : [T] extends [boolean]
      ? 'boolean'
      : [T] extends [readonly unknown[]]
        ? 'array'
        : [T] extends [string | null]
          ? 'string|null'
          : [T] extends [number | null]
            ? 'number|null'
            : [T] extends [object]
              ? 'object'
              : [T] extends [object | null]
                ? 'object|null'
                : never;

/** One entry per field of P, its kind derived from P: the table cannot drift from the interfaces. */
type Shape<P> = {
  readonly [F in keyof P]-?: object extends Pick<P, F> ? `${KindOf<Exclude<P[F], undefined>>}?` : KindOf<P[F]>;
};

/**
 * Every payload's top-level fields and their JSON kinds, checked where events come in from outside
 * (domain/events' parseOrderEvent). Nested elements are not checked: their producers are ours.
 */
export const PAYLOAD_SHAPES: { readonly [K in OrderEventTypeName]: Shape<EventPayloads[K]> } = Object.freeze({
  'order.placed': {
    order_id: 'string',
    saga_id: 'string',
    customer_id: 'string',
    channel: 'string',
    external_order_id: 'string|null',
    cart_id: 'string|null',
    currency: 'string',
    total_amount: 'number',
    items: 'array',
    shipping_address: 'object',
    billing_address: 'object|null',
    payment_method: 'object',
    placed_at: 'string',
  },
  'inventory.reserved': { saga_id: 'string', reservations: 'array' },
  'inventory.released': { saga_id: 'string', released: 'array' },
  'payment.authorized': {
    saga_id: 'string',
    payment_id: 'string',
    amount: 'number',
    currency: 'string?',
    authorization_id: 'string?',
  },
  'payment.declined': { saga_id: 'string', amount: 'number', code: 'string' },
  'payment.voided': { saga_id: 'string', authorization_ids: 'array' },
  'payment.released': { saga_id: 'string?', reason: 'string?', released: 'array' },
  'fraud.checked': { saga_id: 'string', decision: 'string', reason: 'string?', score: 'number?', reasons: 'array?' },
  'order.confirmed': {
    saga_id: 'string',
    total_amount: 'number',
    currency: 'string',
    payment_id: 'string|null',
    fraud_check: 'string|null',
  },
  'order.rejected': { saga_id: 'string', reason: 'string' },
  'shipment.created': {
    shipment_id: 'string',
    warehouse_id: 'string',
    carrier: 'string|null',
    destination_country: 'string',
    items: 'array',
    routing: 'object',
    order_status: 'string?',
  },
  'shipment.picked': { shipment_id: 'string', items: 'array', short: 'array', order_status: 'string?' },
  'shipment.short_picked': { shipment_id: 'string', warehouse_id: 'string', short: 'array', order_status: 'string?' },
  'shipment.packed': { shipment_id: 'string', order_status: 'string?' },
  'shipment.shipped': {
    shipment_id: 'string',
    warehouse_id: 'string',
    carrier: 'string?',
    tracking_number: 'string?',
    items: 'array',
    order_status: 'string?',
  },
  'shipment.cancelled': { shipment_id: 'string', reason: 'string', order_status: 'string?' },
  'shipment.in_transit': {
    shipment_id: 'string',
    carrier: 'string|null',
    tracking_number: 'string|null',
    order_status: 'string?',
  },
  'shipment.delivered': {
    shipment_id: 'string',
    carrier: 'string|null',
    tracking_number: 'string|null',
    order_status: 'string?',
  },
  'item.cancelled': { items: 'array', reason: 'string', saga_id: 'string?', released: 'array?', order_status: 'string?' },
  'payment.captured': {
    payment_id: 'string',
    capture_id: 'string',
    psp_capture_id: 'string',
    shipment_id: 'string',
    amount: 'number',
    currency: 'string',
    amount_captured: 'number',
    payment_status: 'string',
  },
  'payment.capture_failed': { capture_id: 'string', shipment_id: 'string', amount: 'number', reason: 'string' },
  'invoice.issued': {
    invoice_id: 'string',
    number: 'string?',
    capture_id: 'string',
    shipment_id: 'string',
    total: 'number',
    currency: 'string',
  },
  'order.modification_requested': {
    saga_id: 'string',
    changes: 'array',
    added: 'array',
    address_changed: 'boolean',
    previous_total: 'number',
    new_total: 'number',
  },
  'order.modified': {
    saga_id: 'string',
    changes: 'array',
    added: 'array',
    address_changed: 'boolean',
    previous_total: 'number',
    total_amount: 'number',
    order_status: 'string?',
  },
  'order.modification_rejected': { saga_id: 'string', reason: 'string', order_status: 'string?' },
  'order.cancellation_requested': { saga_id: 'string', reason: 'string|null' },
  'order.cancellation_refused': { saga_id: 'string', shipped: 'array', order_status: 'string?' },
  'shipment.cancel_requested': { saga_id: 'string', shipment_id: 'string', warehouse_id: 'string', purpose: 'string?' },
  'order.cancelled': { saga_id: 'string', reason: 'string|null', order_status: 'string?' },
  'refund.requested': {
    refund_id: 'string',
    saga_id: 'string',
    amount: 'number',
    currency: 'string',
    reason: 'string',
    items: 'array',
  },
  'refund.issued': {
    refund_id: 'string',
    saga_id: 'string',
    payment_id: 'string|null',
    amount: 'number',
    currency: 'string',
    reason: 'string',
    items: 'array',
    partial: 'object?',
    allocations: 'array',
    payments: 'array',
    credit_note: 'object',
  },
  'refund.failed': { refund_id: 'string', saga_id: 'string', amount: 'number', reason: 'string' },
});

/** Why `value` is not of `kind` (a trailing `?`: may be absent), or undefined when it is. */
export function kindMismatch(value: unknown, kind: Kind | `${Kind}?`): string | undefined {
  const optional = kind.endsWith('?');
  const kinds = (optional ? kind.slice(0, -1) : kind).split('|');
  if (value === undefined) return optional ? undefined : 'missing';
  const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return kinds.includes(actual) ? undefined : `${actual}, not ${kinds.join(' or ')}`;
}
