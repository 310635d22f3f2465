import { Type } from '@sinclair/typebox';
import { PROBLEM_BASE } from './problem.js';

/**
 * Every problem type the API answers (RFC 9457), in one place: the OpenAPI document lists them and
 * `/problems/<slug>` answers a page about each. A Problem's `type` is `/problems/<slug>`; clients branch on
 * it, never on `detail`. A slug thrown anywhere in the code must be here (a unit test checks).
 */
export interface ProblemType {
  readonly slug: string;
  /** The status it is answered with. */
  readonly status: number;
  /** Its usual title (some name what was not found: "Order not found"). */
  readonly title: string;
  /** When it is answered, and what a client can do about it. */
  readonly description: string;
  /** Extension members it carries besides type, title, status, detail, instance. */
  readonly extensions?: readonly string[];
}

export const PROBLEM_TYPES: readonly ProblemType[] = Object.freeze([
  // Requests the API cannot read.
  {
    slug: 'validation-error',
    status: 400,
    title: 'Request is invalid',
    description:
      'A body field, path or query parameter or header breaks the schema. `errors` names each one: `pointer` (a JSON pointer into the body), `parameter` or `header`, and `detail`. Fix the request; do not retry it unchanged.',
    extensions: ['errors'],
  },
  {
    slug: 'malformed-json',
    status: 400,
    title: 'Request body is not valid JSON',
    description: 'The body could not be parsed as JSON. Send a JSON document with Content-Type: application/json.',
  },
  {
    slug: 'bad-request',
    status: 400,
    title: 'Bad request',
    description: 'The request could not be read (for example an unsupported content encoding or charset).',
  },
  {
    slug: 'request-aborted',
    status: 400,
    title: 'Request aborted',
    description: 'The client closed the connection before its body arrived. Nothing was done; send it again.',
  },
  {
    slug: 'invalid-value',
    status: 400,
    title: 'Request has a value that cannot be stored',
    description:
      'A value passed the schema but the database refused it (an id, a date, a number out of range, or text it cannot store). Nothing was done.',
  },
  {
    slug: 'payload-too-large',
    status: 413,
    title: 'Request body is too large',
    description: 'The body exceeds 1 MiB. Send fewer lines or orders per request.',
  },
  {
    slug: 'unsupported-media-type',
    status: 415,
    title: 'Unsupported media type',
    description: 'A body was sent with another Content-Type than application/json.',
  },
  {
    slug: 'route-not-found',
    status: 404,
    title: 'No such endpoint',
    description: 'No endpoint of this API has this path. The OpenAPI document at /api/v1/openapi.json lists them all.',
  },
  {
    slug: 'method-not-allowed',
    status: 405,
    title: 'Method not allowed',
    description: 'The path exists but does not take this method; `Allow` lists the ones it takes.',
  },
  // Who is asking.
  {
    slug: 'unauthenticated',
    status: 401,
    title: 'Authentication required',
    description:
      'The request has no API key, or its key is unknown or revoked. Send `Authorization: Bearer <key>`; the answer carries `WWW-Authenticate: Bearer`.',
  },
  {
    slug: 'insufficient-scope',
    status: 403,
    title: 'Not allowed',
    description:
      'The API key lacks the scope this route needs, named in `required_scope`. Use a key with that scope (admin has every scope).',
    extensions: ['required_scope'],
  },
  {
    slug: 'channel-forbidden',
    status: 403,
    title: 'Not allowed in this channel',
    description:
      "A channel's key sent a body naming another channel. Omit `channel` (the key's is taken) or use a key of that channel.",
  },
  {
    slug: 'rate-limited',
    status: 429,
    title: 'Too many requests',
    description:
      "The API key's token bucket is empty. Retry after `Retry-After` seconds; `RateLimit-Policy` and `RateLimit` tell the limit and what is left.",
  },
  {
    slug: 'invalid-webhook-signature',
    status: 401,
    title: 'Webhook signature not valid',
    description:
      "A marketplace webhook's Standard Webhooks signature does not hold: a missing or wrong `webhook-signature`, an unknown marketplace, or a `webhook-timestamp` more than 5 minutes away. Nothing was placed.",
  },
  // Idempotency and concurrency.
  {
    slug: 'idempotency-key-reused',
    status: 422,
    title: 'Idempotency-Key reused',
    description: 'This Idempotency-Key was sent before with a different request. Use a new key for a new request.',
  },
  {
    slug: 'idempotency-key-in-flight',
    status: 409,
    title: 'Request in progress',
    description: 'The first request with this Idempotency-Key is still being processed. Retry later to get its answer.',
  },
  {
    slug: 'precondition-required',
    status: 428,
    title: 'If-Match required',
    description:
      'Changing an order needs `If-Match` with the version (or ETag) you read, so a change is never made to an order you have not seen.',
  },
  {
    slug: 'version-mismatch',
    status: 412,
    title: 'Order changed since it was read',
    description:
      'The order is no longer at the version `If-Match` names; `current_version` says where it is. Read it again, then decide.',
    extensions: ['current_version'],
  },
  // Things that do not exist.
  {
    slug: 'not-found',
    status: 404,
    title: 'Not found',
    description:
      'The order, cart, product, invoice, webhook, API key or dead letter does not exist, or belongs to a channel the key may not see (as if it did not exist). The title names what was not found.',
  },
  {
    slug: 'order-archived',
    status: 410,
    title: 'Order archived',
    description:
      'The order belongs to a month archived to files (retention: `ORDER_HOT_MONTHS`, `npm run archive`): neither the order nor its event history is in the database any more. `archived_month` (YYYY-MM) names the month; an operator brings it back with `npm run archive -- restore <month>`, after which the same request answers as before. Any id of an archived month gets this answer, as the database no longer knows which of them existed.',
    extensions: ['archived_month'],
  },
  // What the domain refuses.
  {
    slug: 'unknown-sku',
    status: 422,
    title: 'Unknown SKU',
    description:
      'A line names a SKU that is not in the catalog; `skus` lists them. Create the product first (PUT /api/v1/products/{sku}).',
    extensions: ['skus'],
  },
  {
    slug: 'insufficient-stock',
    status: 409,
    title: 'Not enough stock',
    description: 'No warehouse, nor all together, holds enough available stock for the order; nothing was reserved.',
  },
  {
    slug: 'currency-mismatch',
    status: 422,
    title: 'Currency mismatch',
    description: "The order's currency differs from its cart's or from the catalog prices' currency.",
  },
  {
    slug: 'amount-too-large',
    status: 422,
    title: 'Order total too large',
    description: 'The order total exceeds what an order may hold. Split it.',
  },
  {
    slug: 'cart-not-found',
    status: 422,
    title: 'Cart not found',
    description: "The order names a `cart_id` that does not exist in the order's channel.",
  },
  {
    slug: 'cart-already-ordered',
    status: 409,
    title: 'Cart already ordered',
    description: 'The cart was turned into an order before; each cart is ordered once.',
  },
  {
    slug: 'cart-customer-mismatch',
    status: 422,
    title: 'Cart belongs to another customer',
    description: "The order's `customer_id` is not the cart's customer.",
  },
  {
    slug: 'duplicate-external-order-id',
    status: 409,
    title: 'External order id already used',
    description: 'Another order of the channel has this `external_order_id`, which is unique per channel (per marketplace).',
  },
  {
    slug: 'order-not-cancellable',
    status: 409,
    title: 'Order cannot be cancelled',
    description:
      'The order can no longer be cancelled: a shipment has left a warehouse, or it was rejected. Request a refund instead.',
  },
  {
    slug: 'order-not-modifiable',
    status: 409,
    title: 'Order cannot be changed',
    description: 'The order is in a status that takes no change (shipped, delivered, cancelled, rejected) or is being cancelled.',
  },
  {
    slug: 'modification-in-progress',
    status: 409,
    title: 'Another change is in progress',
    description:
      'A previous change of the order is still being carried out. Retry when it is done (its version will have grown).',
  },
  {
    slug: 'line-already-shipped',
    status: 409,
    title: 'Line already shipped',
    description: 'The change touches a line with shipped units, which can no longer change.',
  },
  {
    slug: 'line-quantity-too-large',
    status: 422,
    title: 'Line would hold too many units',
    description: 'After the change a line would hold more units than a line may (`max_quantity`).',
    extensions: ['max_quantity'],
  },
  {
    slug: 'nothing-to-change',
    status: 409,
    title: 'Nothing to change',
    description: 'The change request leaves the order as it is.',
  },
  {
    slug: 'order-would-be-empty',
    status: 409,
    title: 'Order would be empty',
    description: 'The change removes every line. Cancel the order instead (POST /api/v1/orders/{order_id}/cancel).',
  },
  {
    slug: 'unknown-item',
    status: 422,
    title: 'Unknown order line',
    description: 'An `item_id` is not a line of this order.',
  },
  {
    slug: 'refund-exceeds-shipped',
    status: 422,
    title: 'Refund exceeds what shipped',
    description: 'A refund line asks for more units than shipped and not yet refunded.',
  },
  {
    slug: 'refund-exceeds-captured',
    status: 422,
    title: 'Refund exceeds what was captured',
    description: 'The refund amount exceeds what was captured and not yet refunded.',
  },
  {
    slug: 'inventory-below-reserved',
    status: 409,
    title: 'Stock on hand below reserved',
    description: 'The new `on_hand` is below the units already reserved for orders (`reserved`).',
    extensions: ['reserved'],
  },
  {
    slug: 'dead-letter-redriven',
    status: 409,
    title: 'Dead letter already redriven',
    description: 'The dead letter was re-driven before; only a dead one can be re-driven or discarded.',
    extensions: ['dead_letter'],
  },
  {
    slug: 'dead-letter-discarded',
    status: 409,
    title: 'Dead letter already discarded',
    description: 'The dead letter was discarded before; only a dead one can be re-driven or discarded.',
    extensions: ['dead_letter'],
  },
  // Our side.
  {
    slug: 'internal-error',
    status: 500,
    title: 'Internal error',
    description:
      'The request failed on our side; nothing a client sent caused it. It is safe to retry (with the same Idempotency-Key).',
  },
  {
    slug: 'service-unavailable',
    status: 503,
    title: 'Service unavailable',
    description: 'A dependency is down or the service is shedding load (a deep placement queue). Retry with backoff.',
  },
]);

export const PROBLEM_TYPE_BY_SLUG: ReadonlyMap<string, ProblemType> = new Map(PROBLEM_TYPES.map((p) => [p.slug, p]));

/** RFC 9457 problem details as this API answers them (`application/problem+json`). */
export const problemSchema = Type.Object(
  {
    type: Type.Unsafe<string>({
      type: 'string',
      enum: PROBLEM_TYPES.map((p) => PROBLEM_BASE + p.slug),
      description: 'The reason: `/problems/<slug>`, a page about it',
    }),
    title: Type.String(),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: Type.String(),
    instance: Type.Optional(Type.String({ description: 'The request that failed' })),
    errors: Type.Optional(
      Type.Array(
        Type.Object(
          {
            detail: Type.String(),
            pointer: Type.Optional(Type.String({ description: 'A JSON pointer into the body' })),
            parameter: Type.Optional(Type.String({ description: 'A path or query parameter' })),
            header: Type.Optional(Type.String()),
          },
          { additionalProperties: false },
        ),
        { description: 'For validation-error: each bad field' },
      ),
    ),
  },
  { description: 'RFC 9457 problem details; extension members may follow' },
);
