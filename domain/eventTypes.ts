/**
 * Every event type the system emits, in one frozen table (contract §7). Names are `aggregate.pastTense`.
 */
export const OrderEventType = Object.freeze({
  orderPlaced: 'order.placed',
  inventoryReserved: 'inventory.reserved',
  inventoryReleased: 'inventory.released',
  paymentAuthorized: 'payment.authorized',
  paymentDeclined: 'payment.declined',
  paymentVoided: 'payment.voided',
  /** Part of an authorization released (an edit lowered the total). */
  paymentReleased: 'payment.released',
  fraudChecked: 'fraud.checked',
  orderConfirmed: 'order.confirmed',
  orderRejected: 'order.rejected',
  shipmentCreated: 'shipment.created',
  shipmentPicked: 'shipment.picked',
  /** Part of a shipment could not be picked: the router re-routes or cancels the missing units. */
  shipmentShortPicked: 'shipment.short_picked',
  shipmentPacked: 'shipment.packed',
  shipmentShipped: 'shipment.shipped',
  shipmentCancelled: 'shipment.cancelled',
  shipmentInTransit: 'shipment.in_transit',
  shipmentDelivered: 'shipment.delivered',
  /** Units of lines that will not ship (nothing left anywhere after a short pick). */
  itemCancelled: 'item.cancelled',
  paymentCaptured: 'payment.captured',
  paymentCaptureFailed: 'payment.capture_failed',
  invoiceIssued: 'invoice.issued',
  orderModificationRequested: 'order.modification_requested',
  orderModified: 'order.modified',
  /** An edit that could not be carried out (no stock, payment declined, a line shipped): nothing changed. */
  orderModificationRejected: 'order.modification_rejected',
  orderCancellationRequested: 'order.cancellation_requested',
  /** The cancellation reached the warehouse too late for some shipments: the rest is cancelled. */
  orderCancellationRefused: 'order.cancellation_refused',
  shipmentCancelRequested: 'shipment.cancel_requested',
  orderCancelled: 'order.cancelled',
  refundRequested: 'refund.requested',
  refundIssued: 'refund.issued',
  refundFailed: 'refund.failed',
} as const);

export type OrderEventTypeName = (typeof OrderEventType)[keyof typeof OrderEventType];
