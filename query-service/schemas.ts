import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { CLIENT_ID_PATTERN } from '../domain/ids.js';
import type { InvoiceDocument } from '../domain/invoice.js';
import { CHANNELS, ORDER_STATUSES } from '../domain/order.js';

/**
 * The read API's schemas (contract §6), written once with TypeBox: the query parameters ajv checks, and
 * the answers' shapes, whose TypeScript types (`Static`) the order view fold and the queries use and
 * which the OpenAPI document (api/openapi) publishes. Answers may gain fields: their objects are open.
 */

const uuid = Type.String({ format: 'uuid' });
const moment = Type.String({ format: 'date-time' });
const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
/** Money in minor units of the currency (contract §2). */
const money = Type.Integer({ description: 'Minor units of the currency (1999 = 19.99)' });
const currency = Type.String({ pattern: '^[A-Z]{3}$' });

// ---- parameters -------------------------------------------------------------------------------

export const orderIdParams = Type.Object({ order_id: uuid });
export const invoiceIdParams = Type.Object({ invoice_id: uuid });
export const customerIdParams = Type.Object({ customer_id: Type.String({ pattern: CLIENT_ID_PATTERN }) });

const limit = Type.String({ pattern: '^(?:[1-9][0-9]?|1[0-9][0-9]|200)$' });

export const orderQuery = Type.Object(
  {
    min_version: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,8}$' })),
    as_of: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

export const eventsQuery = Type.Object(
  { after_seq: Type.Optional(Type.String({ pattern: '^(?:0|[1-9][0-9]{0,8})$' })), limit: Type.Optional(limit) },
  { additionalProperties: false },
);

export const pageQuery = Type.Object(
  {
    limit: Type.Optional(limit),
    cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,200}$' })),
    status: Type.Optional(Type.Unsafe<string>({ type: 'string', enum: [...ORDER_STATUSES] })),
  },
  { additionalProperties: false },
);

export const funnelQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    channel: Type.Optional(Type.Unsafe<string>({ type: 'string', enum: [...CHANNELS] })),
  },
  { additionalProperties: false },
);

// ---- the order funnel (GET /api/v1/analytics/funnel) ---------------------------------------------

const stepCounts = {
  placed: Type.Integer(),
  confirmed: Type.Integer(),
  rejected: Type.Integer(),
  shipped: Type.Integer(),
  delivered: Type.Integer(),
  cancelled: Type.Integer(),
};
const percentiles = Type.Object({
  p50: Type.Union([Type.Integer(), Type.Null()]),
  p95: Type.Union([Type.Integer(), Type.Null()]),
});
const ratio = Type.Union([Type.Number(), Type.Null()]);

export const funnelAnswer = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  channel: Type.Union([Type.String(), Type.Null()]),
  cohorts: Type.String(),
  hours: Type.Array(Type.Object({ hour: Type.String({ format: 'date-time' }), channel: Type.String(), ...stepCounts })),
  totals: Type.Object({
    ...stepCounts,
    conversion: Type.Object({ placed_to_confirmed: ratio, confirmed_to_shipped: ratio, shipped_to_delivered: ratio }),
    latency_ms: Type.Object({
      placed_to_confirmed: percentiles,
      confirmed_to_shipped: percentiles,
      shipped_to_delivered: percentiles,
      placed_to_delivered: percentiles,
    }),
  }),
});

// ---- the order view (GET /api/v1/orders/{order_id}) ----------------------------------------------

const lineRef = Type.Object({ item_id: Type.String(), sku: Type.String(), quantity: Type.Integer() });

export const orderViewItem = Type.Object({
  item_id: Type.String(),
  sku: Type.String(),
  quantity: Type.Integer(),
  unit_price: money,
  status: Type.String(),
  quantity_shipped: Type.Integer(),
  quantity_cancelled: Type.Integer(),
  quantity_refunded: Type.Integer(),
});

export const orderViewPayment = Type.Object({
  payment_id: Type.String(),
  amount_authorized: money,
  amount_captured: money,
  amount_refunded: money,
  status: Type.String(),
});

export const orderViewShipment = Type.Object({
  shipment_id: Type.String(),
  warehouse_id: Type.String(),
  carrier: nullable(Type.String()),
  tracking_number: nullable(Type.String()),
  status: Type.String(),
  items: Type.Array(lineRef),
  shipped_at: nullable(Type.String()),
  delivered_at: nullable(Type.String()),
});

export const orderViewInvoice = Type.Object({
  invoice_id: Type.String(),
  number: Type.String(),
  shipment_id: nullable(Type.String()),
  total: money,
  currency: Type.String(),
  issued_at: Type.String(),
});

export const orderViewRefund = Type.Object({
  refund_id: Type.String(),
  amount: money,
  currency: Type.String(),
  reason: Type.String(),
  status: Type.String(),
  items: Type.Array(lineRef),
  credit_note: nullable(Type.Object({ invoice_id: Type.String(), number: Type.String() })),
});

export const orderViewSagaStep = Type.Object({
  name: Type.String(),
  status: Type.String(),
  at: Type.String(),
  detail: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

export const orderView = Type.Object({
  order_id: Type.String(),
  status: Type.String({ description: `One of ${ORDER_STATUSES.join(', ')}` }),
  version: Type.Integer({
    minimum: 1,
    description: 'Grows with every event of the order; send it as `min_version` or in `If-Match`',
  }),
  customer_id: Type.String(),
  channel: Type.String(),
  external_order_id: nullable(Type.String()),
  currency: Type.String(),
  total_amount: money,
  items: Type.Array(orderViewItem),
  shipments: Type.Array(orderViewShipment),
  payments: Type.Array(orderViewPayment),
  invoices: Type.Array(orderViewInvoice),
  cancellation: Type.Optional(
    nullable(Type.Object({ saga_id: Type.String(), status: Type.String(), reason: nullable(Type.String()) })),
  ),
  refunds: Type.Optional(Type.Array(orderViewRefund)),
  modification: Type.Optional(
    nullable(Type.Object({ saga_id: Type.String(), status: Type.String(), reason: Type.Optional(Type.String()) })),
  ),
  saga: Type.Object({
    saga_id: Type.String(),
    status: Type.String(),
    current_step: Type.String(),
    steps: Type.Array(orderViewSagaStep),
  }),
  created_at: Type.String(),
  updated_at: Type.String(),
});

// ---- listings and events --------------------------------------------------------------------------

export const orderSummary = Type.Object({
  order_id: Type.String(),
  status: Type.String(),
  version: Type.Integer(),
  customer_id: Type.String(),
  channel: Type.String(),
  currency: Type.String(),
  total_amount: money,
  created_at: Type.String(),
  updated_at: Type.String(),
});

export const orderPage = Type.Object({
  orders: Type.Array(orderSummary),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last' }),
});

/** Who an event was written for (platform/eventEnvelope's EventActor). */
export const eventActor = Type.Union([
  Type.Object(
    { kind: Type.Literal('api_key'), key_id: Type.String(), channel: Type.Union([Type.String(), Type.Null()]) },
    {
      description:
        'A request authenticated by this API key (a marketplace: `marketplace:<id>`); its channel, null for back office',
    },
  ),
  Type.Object(
    { kind: Type.Literal('service'), service: Type.String() },
    { description: 'A worker of the system reacting to an earlier event (its consumer group or name)' },
  ),
]);

export const storedOrderEvent = Type.Object({
  event_id: Type.String(),
  seq: Type.Integer({ minimum: 1 }),
  type: Type.String(),
  payload: Type.Record(Type.String(), Type.Unknown()),
  occurred_at: Type.String(),
  correlation_id: Type.Union([Type.String(), Type.Null()], {
    description:
      'The request this event follows from: its X-Request-Id, or its traceparent trace id; the same for every event it causes. Null for events older than correlation ids',
  }),
  causation_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], {
    description: 'The event (of this order) this one reacts to; null for an event a request wrote',
  }),
  actor: Type.Union([eventActor, Type.Null()], { description: 'The client or service the event was written for' }),
});

export const eventPage = Type.Object({
  events: Type.Array(storedOrderEvent),
  next_after_seq: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Pass as `after_seq` for the next page; null on the last',
  }),
});

// ---- invoices ----------------------------------------------------------------------------------------

const party = Type.Object({
  name: Type.String(),
  address: Type.Array(Type.String()),
  tax_id: Type.Optional(Type.String()),
  customer_id: Type.Optional(Type.String()),
});

export const invoiceDocument = Type.Object({
  invoice_id: uuid,
  kind: Type.Unsafe<'invoice' | 'credit_note'>({ type: 'string', enum: ['invoice', 'credit_note'] }),
  number: Type.String({ examples: ['INV-2026-000042'] }),
  issued_at: moment,
  order_id: uuid,
  shipment_id: nullable(Type.String()),
  capture_id: nullable(Type.String()),
  seller: party,
  buyer: party,
  currency,
  lines: Type.Array(
    Type.Object({
      item_id: Type.String(),
      sku: Type.String(),
      description: Type.String(),
      quantity: Type.Integer(),
      unit_price: money,
      line_no: Type.Integer({ minimum: 1 }),
      line_total: money,
    }),
  ),
  subtotal: money,
  tax_total: money,
  total: money,
  refund_id: Type.Optional(Type.String()),
  corrects: Type.Optional(
    Type.Array(
      Type.Object({
        invoice_id: Type.String(),
        number: Type.String(),
        line_no: Type.Optional(Type.Integer()),
        item_id: Type.Optional(Type.String()),
      }),
    ),
  ),
});

export const invoiceList = Type.Object({ invoices: Type.Array(invoiceDocument) });

/** A schema's type as the read model holds it: TypeBox's Static is mutable, the read model's values are not. */
export type ReadonlyDeep<T> =
  T extends ReadonlyArray<infer U>
    ? ReadonlyArray<ReadonlyDeep<U>>
    : T extends object
      ? { readonly [K in keyof T]: ReadonlyDeep<T[K]> }
      : T;

/** The type of a read model value with this schema. */
export type ReadModel<S extends TSchema> = ReadonlyDeep<Static<S>>;

/**
 * An invoice is built in domain/ (domain/invoice.ts, which imports no library), so its type is written
 * there; these two lines keep the published schema and that type the same, or the build fails.
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const invoiceSchemaMatchesDomain: Same<ReadModel<typeof invoiceDocument>, InvoiceDocument> = true;
