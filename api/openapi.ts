import type { TObject, TSchema } from '@sinclair/typebox';
import { API_ROUTES, SIGNED_ROUTES, type ApiRoute } from '../platform/access.js';
import { PROBLEM_TYPE_BY_SLUG, PROBLEM_TYPES, problemSchema } from '../platform/problemTypes.js';
import * as admin from '../command-service/schemas/admin.js';
import * as catalog from '../command-service/schemas/catalog.js';
import * as marketplaces from '../command-service/schemas/marketplaces.js';
import * as orders from '../command-service/schemas/orders.js';
import * as answers from '../command-service/schemas/responses.js';
import * as webhooks from '../command-service/schemas/webhooks.js';
import * as reads from '../query-service/schemas.js';

/**
 * The API description (OpenAPI 3.1), built at start from the one source of each thing it says: the
 * paths, methods and scopes from platform/access (API_ROUTES, SIGNED_ROUTES), the request and answer
 * schemas from the services' TypeBox schemas (the ones ajv validates with), the problem types from
 * platform/problemTypes. What is written here is only what ties them together: which schema each
 * route takes and answers. A route without that, or that, without a route, fails the build of the
 * document (and so the start and the tests).
 */

export const OPENAPI_PATH = '/api/v1/openapi.json';
export const DOCS_PATH = '/docs';
/** The version of the API this describes (its paths are /api/v1). */
export const API_VERSION = '1.0.0';

type Method = ApiRoute['method'];

/** A schema published under components/schemas, referenced by name. */
interface Named {
  readonly name: string;
  readonly schema: TSchema;
}
const named = (name: string, schema: TSchema): Named => ({ name, schema });

interface Answer {
  readonly description: string;
  /** The JSON body's schema; none: no body. */
  readonly body?: Named;
  /** Other representations (an invoice as HTML or PDF). */
  readonly alternatives?: readonly string[];
  readonly headers?: Readonly<Record<string, string>>;
}

interface Operation {
  readonly summary: string;
  readonly tag: string;
  readonly description?: string;
  readonly params?: TObject;
  readonly query?: TObject;
  readonly body?: Named;
  /** Whether the request body may be left out. */
  readonly bodyOptional?: boolean;
  /** Takes an Idempotency-Key (contract §2). */
  readonly idempotent?: boolean;
  readonly headers?: ReadonlyArray<{ readonly name: string; readonly required: boolean; readonly description: string }>;
  readonly answers: Readonly<Record<number, Answer>>;
  /** The problem types this route answers besides those of every route (authentication, validation, ours). */
  readonly problems?: readonly string[];
}

const S = {
  Problem: named('Problem', problemSchema),
  Product: named('Product', answers.productAnswer),
  ProductBody: named('ProductBody', catalog.productBody),
  Warehouse: named('Warehouse', answers.warehouseAnswer),
  WarehouseBody: named('WarehouseBody', catalog.warehouseBody),
  InventoryBody: named('InventoryBody', catalog.inventoryBody),
  InventoryLevel: named('InventoryLevel', answers.inventoryLevelAnswer),
  Inventory: named('Inventory', answers.inventoryAnswer),
  CartBody: named('CartBody', orders.cartBody),
  Cart: named('Cart', answers.cartAnswer),
  PlaceOrderBody: named('PlaceOrderBody', orders.placeOrderBody),
  PlacedOrder: named('PlacedOrder', answers.placementAnswer),
  BatchBody: named('BatchBody', orders.batchBody),
  BatchResults: named('BatchResults', answers.batchAnswer),
  MarketplaceOrderBody: named('MarketplaceOrderBody', orders.marketplaceOrderBody),
  CancelOrderBody: named('CancelOrderBody', orders.cancelOrderBody),
  Cancellation: named('Cancellation', answers.cancellationAnswer),
  ModifyOrderBody: named('ModifyOrderBody', orders.modifyOrderBody),
  Modification: named('Modification', answers.modificationAnswer),
  RefundBody: named('RefundBody', orders.refundBody),
  Refund: named('Refund', answers.refundAnswer),
  Order: named('Order', reads.orderView),
  OrderPage: named('OrderPage', reads.orderPage),
  EventPage: named('EventPage', reads.eventPage),
  Invoice: named('Invoice', reads.invoiceDocument),
  InvoiceList: named('InvoiceList', reads.invoiceList),
  Funnel: named('Funnel', reads.funnelAnswer),
  StuckSagas: named('StuckSagas', answers.stuckSagasAnswer),
  OpsOverview: named('OpsOverview', answers.opsAnswer),
  DeadLetter: named('DeadLetter', answers.deadLetterAnswer),
  DeadLetters: named('DeadLetters', answers.deadLettersAnswer),
  ApiKeyBody: named('ApiKeyBody', admin.apiKeyBody),
  ApiKey: named('ApiKey', answers.apiKeyListing),
  CreatedApiKey: named('CreatedApiKey', answers.createdApiKeyAnswer),
  ApiKeys: named('ApiKeys', answers.apiKeysAnswer),
  MarketplaceBody: named('MarketplaceBody', marketplaces.marketplaceBody),
  Marketplace: named('Marketplace', answers.marketplaceAnswer),
  RotatedSecret: named('RotatedSecret', answers.rotatedSecretAnswer),
  WebhookBody: named('WebhookBody', webhooks.webhookBody),
  Webhook: named('Webhook', answers.webhookAnswer),
  Webhooks: named('Webhooks', answers.webhooksAnswer),
  Deliveries: named('Deliveries', answers.deliveriesAnswer),
} as const;

const ok = (description: string, body?: Named, headers?: Record<string, string>): Answer => ({
  description,
  ...(body === undefined ? {} : { body }),
  ...(headers === undefined ? {} : { headers }),
});
const LOCATION = { Location: 'Where the created or changed resource is read' };
const PLACEMENT_PROBLEMS = [
  'channel-forbidden',
  'unknown-sku',
  'insufficient-stock',
  'currency-mismatch',
  'amount-too-large',
  'cart-not-found',
  'cart-already-ordered',
  'cart-customer-mismatch',
  'duplicate-external-order-id',
];

/** What each route of API_ROUTES and SIGNED_ROUTES takes and answers, by `METHOD path`. */
const OPERATIONS: Readonly<Record<string, Operation>> = {
  'PUT /api/v1/products/{sku}': {
    summary: 'Create or update a product',
    tag: 'Catalog',
    params: catalog.skuParams,
    body: S.ProductBody,
    idempotent: true,
    answers: { 200: ok('Updated', S.Product), 201: ok('Created', S.Product, LOCATION) },
  },
  'PUT /api/v1/warehouses/{warehouse_id}': {
    summary: 'Create or update a warehouse',
    tag: 'Catalog',
    params: catalog.warehouseParams,
    body: S.WarehouseBody,
    idempotent: true,
    answers: { 200: ok('Updated', S.Warehouse), 201: ok('Created', S.Warehouse, LOCATION) },
  },
  'PUT /api/v1/inventory/{warehouse_id}/{sku}': {
    summary: "Set a SKU's stock on hand in a warehouse",
    tag: 'Catalog',
    params: catalog.inventoryParams,
    body: S.InventoryBody,
    idempotent: true,
    answers: { 200: ok('The stock now', S.InventoryLevel) },
    problems: ['not-found', 'inventory-below-reserved'],
  },
  'GET /api/v1/inventory/{sku}': {
    summary: "A SKU's stock per warehouse and in total",
    tag: 'Catalog',
    params: catalog.skuParams,
    answers: { 200: ok('The stock', S.Inventory) },
    problems: ['not-found'],
  },
  'POST /api/v1/carts': {
    summary: 'Create a cart',
    tag: 'Orders',
    body: S.CartBody,
    idempotent: true,
    answers: { 201: ok('Created, priced at the catalog prices', S.Cart, LOCATION) },
    problems: ['channel-forbidden', 'unknown-sku', 'currency-mismatch', 'amount-too-large'],
  },
  'GET /api/v1/carts/{cart_id}': {
    summary: 'Read a cart',
    tag: 'Orders',
    params: orders.cartIdParams,
    answers: { 200: ok("The cart, priced at today's catalog prices", S.Cart) },
    problems: ['not-found'],
  },
  'POST /api/v1/orders': {
    summary: 'Place an order',
    tag: 'Orders',
    description:
      'Prices come from the catalog. The answer is 202: the order is placed and its saga reserves stock, authorizes the payment and confirms it; follow it with GET /api/v1/orders/{order_id}?min_version=….',
    body: S.PlaceOrderBody,
    idempotent: true,
    answers: { 202: ok('Placed; its saga runs', S.PlacedOrder, LOCATION) },
    problems: PLACEMENT_PROBLEMS,
  },
  'POST /api/v1/orders/batch': {
    summary: "A point of sale's offline batch of orders",
    tag: 'Orders',
    description:
      'Up to 500 orders, each with its own `external_order_id` (its idempotency key): each result is what its own POST /api/v1/orders would have answered. Sending the batch again places nothing twice.',
    body: S.BatchBody,
    answers: { 200: ok('One result per order, in order', S.BatchResults) },
  },
  'POST /api/v1/channels/marketplace/{marketplace_id}/orders': {
    summary: "A marketplace's order, as a signed webhook",
    tag: 'Channels',
    description:
      'Authenticated by its Standard Webhooks signature (`webhook-id`, `webhook-timestamp`, `webhook-signature`) under the marketplace secret, not by an API key. A repeated `webhook-id` answers as the first time.',
    params: marketplaces.marketplaceParams,
    body: S.MarketplaceOrderBody,
    headers: [
      { name: 'webhook-id', required: true, description: 'The message id; a repeated one answers as the first time' },
      { name: 'webhook-timestamp', required: true, description: 'Unix seconds; at most 5 minutes away' },
      { name: 'webhook-signature', required: true, description: 'v1,<base64 HMAC-SHA256 of "id.timestamp.body">' },
    ],
    answers: { 202: ok('Placed; its saga runs', S.PlacedOrder, LOCATION) },
    problems: ['invalid-webhook-signature', ...PLACEMENT_PROBLEMS.filter((slug) => slug !== 'channel-forbidden')],
  },
  'POST /api/v1/orders/{order_id}/cancel': {
    summary: 'Cancel an order',
    tag: 'Orders',
    params: orders.orderIdParams,
    body: S.CancelOrderBody,
    bodyOptional: true,
    idempotent: true,
    answers: {
      200: ok('Already cancelled: its state', S.Cancellation),
      202: ok('Cancellation started (stock released, payment voided or refunded)', S.Cancellation, LOCATION),
    },
    problems: ['not-found', 'order-not-cancellable'],
  },
  'PATCH /api/v1/orders/{order_id}': {
    summary: 'Change an order before it ships',
    tag: 'Orders',
    description: 'Change the shipping address, change or remove lines, add lines; only lines that have not shipped.',
    params: orders.orderIdParams,
    body: S.ModifyOrderBody,
    idempotent: true,
    headers: [{ name: 'If-Match', required: true, description: 'The version read (its ETag, or "<version>"), or *' }],
    answers: { 202: ok('The change runs', S.Modification, LOCATION) },
    problems: [
      'not-found',
      'precondition-required',
      'version-mismatch',
      'order-not-modifiable',
      'modification-in-progress',
      'line-already-shipped',
      'nothing-to-change',
      'order-would-be-empty',
      'unknown-item',
      'line-quantity-too-large',
      'unknown-sku',
      'insufficient-stock',
    ],
  },
  'POST /api/v1/orders/{order_id}/refunds': {
    summary: 'Refund an order, whole lines or an amount',
    tag: 'Orders',
    params: orders.orderIdParams,
    body: S.RefundBody,
    idempotent: true,
    answers: { 202: ok('The refund runs', S.Refund, LOCATION) },
    problems: ['not-found', 'unknown-item', 'refund-exceeds-shipped', 'refund-exceeds-captured'],
  },
  'GET /api/v1/orders': {
    summary: 'List orders, newest first',
    tag: 'Reads',
    query: reads.pageQuery,
    answers: { 200: ok('A page', S.OrderPage) },
  },
  'GET /api/v1/orders/{order_id}': {
    summary: 'Read an order',
    tag: 'Reads',
    description:
      '`min_version` waits up to 2 s for the read model to reach that version, then answers what it has with `Projection-Lag`. `as_of` answers the order as it was then, folded from its events. An order of a month archived to files (`npm run archive`) answers 410 `order-archived`, with `as_of` too, naming the month, until the month is restored.',
    params: reads.orderIdParams,
    query: reads.orderQuery,
    headers: [{ name: 'If-None-Match', required: false, description: 'The ETag read before: 304 if unchanged' }],
    answers: {
      200: ok('The order', S.Order, {
        ETag: '"<order_id>:<version>"',
        'Projection-Lag': 'How many versions the answer is behind min_version',
      }),
      304: ok('Not modified since the ETag sent'),
    },
    problems: ['not-found', 'order-archived'],
  },
  'GET /api/v1/orders/{order_id}/events': {
    summary: "An order's events, oldest first",
    tag: 'Reads',
    description:
      'An order of a month archived to files (`npm run archive`) answers 410 `order-archived`, naming the month, until the month is restored.',
    params: reads.orderIdParams,
    query: reads.eventsQuery,
    answers: { 200: ok('A page of events', S.EventPage) },
    problems: ['not-found', 'order-archived'],
  },
  'GET /api/v1/orders/{order_id}/invoices': {
    summary: "An order's invoices and credit notes",
    tag: 'Reads',
    params: reads.orderIdParams,
    answers: { 200: ok('In the order they were issued', S.InvoiceList) },
    problems: ['not-found'],
  },
  'GET /api/v1/invoices/{invoice_id}': {
    summary: 'Read an invoice (JSON, HTML or PDF by Accept)',
    tag: 'Reads',
    params: reads.invoiceIdParams,
    answers: { 200: { description: 'The invoice', body: S.Invoice, alternatives: ['text/html', 'application/pdf'] } },
    problems: ['not-found'],
  },
  'GET /api/v1/customers/{customer_id}/orders': {
    summary: "A customer's orders, newest first",
    tag: 'Reads',
    params: reads.customerIdParams,
    query: reads.pageQuery,
    answers: { 200: ok('A page', S.OrderPage) },
  },
  'GET /api/v1/analytics/funnel': {
    summary: 'Orders per placement hour and channel at each step, with conversions and step latencies',
    tag: 'Reads',
    query: reads.funnelQuery,
    answers: { 200: ok('The funnel of the orders placed in [from, to)', S.Funnel) },
    problems: ['channel-forbidden'],
  },
  'GET /api/v1/admin/sagas': {
    summary: 'Sagas stuck longer than the configured time',
    tag: 'Admin',
    query: admin.sagaQuery,
    answers: { 200: ok('The stuck sagas, oldest first', S.StuckSagas) },
  },
  'GET /api/v1/admin/ops': {
    summary: "The ops page's overview",
    tag: 'Admin',
    description:
      "Orders by status (read model), placements and time to decision per minute of the last 15, the answering API process's requests and latency per minute, relay lag per sink, pending and backlog per consumer group, worker heartbeats, partner breaker states, dead letters by consumer and the stuck sagas count. A part that cannot be read now is null or empty and named in `unavailable`. The page at /ops draws it.",
    answers: { 200: ok('The overview now', S.OpsOverview) },
  },
  'GET /api/v1/admin/dead-letters': {
    summary: 'What consumers gave up on, latest failure first',
    tag: 'Admin',
    query: admin.deadLetterQuery,
    answers: { 200: ok('The dead letters', S.DeadLetters) },
  },
  'POST /api/v1/admin/dead-letters/{id}/redrive': {
    summary: 'Put a dead letter back on its stream or topic',
    tag: 'Admin',
    params: admin.deadLetterIdParams,
    idempotent: true,
    answers: { 200: ok('Re-driven', S.DeadLetter) },
    problems: ['not-found', 'dead-letter-redriven', 'dead-letter-discarded'],
  },
  'POST /api/v1/admin/dead-letters/{id}/discard': {
    summary: 'Discard a dead letter',
    tag: 'Admin',
    params: admin.deadLetterIdParams,
    idempotent: true,
    answers: { 200: ok('Discarded', S.DeadLetter) },
    problems: ['not-found', 'dead-letter-redriven', 'dead-letter-discarded'],
  },
  'POST /api/v1/admin/api-keys': {
    summary: 'Create an API key',
    tag: 'Admin',
    description: 'The key is in this answer only (it is stored as a hash), so the request is not replayed by Idempotency-Key.',
    body: S.ApiKeyBody,
    answers: { 201: ok('Created: the key, shown once', S.CreatedApiKey) },
  },
  'GET /api/v1/admin/api-keys': {
    summary: 'List API keys (without the keys)',
    tag: 'Admin',
    answers: { 200: ok('Every key, revoked ones included', S.ApiKeys) },
  },
  'DELETE /api/v1/admin/api-keys/{key_id}': {
    summary: 'Revoke an API key',
    tag: 'Admin',
    params: admin.apiKeyIdParams,
    answers: { 200: ok('Revoked', S.ApiKey) },
    problems: ['not-found'],
  },
  'PUT /api/v1/admin/marketplaces/{marketplace_id}': {
    summary: 'Register or rename a marketplace',
    tag: 'Channels',
    params: marketplaces.marketplaceParams,
    body: S.MarketplaceBody,
    answers: {
      200: ok('Renamed (no secret)', S.Marketplace),
      201: ok('Registered: its signing secret, shown once', S.Marketplace, LOCATION),
    },
  },
  'POST /api/v1/admin/marketplaces/{marketplace_id}/secrets': {
    summary: "Rotate a marketplace's signing secret",
    tag: 'Channels',
    params: marketplaces.marketplaceParams,
    answers: { 201: ok('The new secret; the previous one stays valid for 24 h', S.RotatedSecret) },
    problems: ['not-found'],
  },
  'POST /api/v1/webhooks': {
    summary: 'Subscribe a URL to order events',
    tag: 'Webhooks',
    body: S.WebhookBody,
    idempotent: true,
    answers: { 201: ok('Subscribed: its signing secret, shown once', S.Webhook, LOCATION) },
  },
  'GET /api/v1/webhooks': {
    summary: "The client's webhook subscriptions",
    tag: 'Webhooks',
    answers: { 200: ok('The subscriptions', S.Webhooks) },
  },
  'GET /api/v1/webhooks/{webhook_id}': {
    summary: 'Read a webhook subscription',
    tag: 'Webhooks',
    params: webhooks.webhookIdParams,
    answers: { 200: ok('The subscription', S.Webhook) },
    problems: ['not-found'],
  },
  'DELETE /api/v1/webhooks/{webhook_id}': {
    summary: 'Delete a webhook subscription',
    tag: 'Webhooks',
    params: webhooks.webhookIdParams,
    idempotent: true,
    answers: { 204: ok('Deleted') },
    problems: ['not-found'],
  },
  'POST /api/v1/webhooks/{webhook_id}/secrets': {
    summary: "Rotate a subscription's signing secret",
    tag: 'Webhooks',
    params: webhooks.webhookIdParams,
    idempotent: true,
    answers: { 201: ok('The new secret; the previous one stays valid for 24 h', S.RotatedSecret) },
    problems: ['not-found'],
  },
  'POST /api/v1/webhooks/{webhook_id}/enable': {
    summary: 'Enable a disabled subscription again',
    tag: 'Webhooks',
    params: webhooks.webhookIdParams,
    idempotent: true,
    answers: { 200: ok('Enabled', S.Webhook) },
    problems: ['not-found'],
  },
  'GET /api/v1/webhooks/{webhook_id}/deliveries': {
    summary: "A subscription's latest deliveries and their attempts",
    tag: 'Webhooks',
    params: webhooks.webhookIdParams,
    query: webhooks.deliveriesQuery,
    answers: { 200: ok('The deliveries', S.Deliveries) },
    problems: ['not-found'],
  },
};

/** Problems any route with a key may answer. */
const KEY_PROBLEMS = ['unauthenticated', 'insufficient-scope', 'rate-limited'];
/** Problems of a request with a body. */
const BODY_PROBLEMS = [
  'validation-error',
  'malformed-json',
  'bad-request',
  'invalid-value',
  'payload-too-large',
  'unsupported-media-type',
];
const IDEMPOTENCY_PROBLEMS = ['idempotency-key-reused', 'idempotency-key-in-flight'];
const OUR_PROBLEMS = ['internal-error', 'service-unavailable'];

type Json = Record<string, unknown>;

/** A TypeBox schema as plain JSON Schema 2020-12 (OpenAPI 3.1's dialect): no symbols, draft-07 `dependencies` renamed. */
export function toJsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'dependencies' && Object.values(value as Json).every(Array.isArray)) out['dependentRequired'] = value;
    else if (key === 'format' && value === 'storable-text') {
      out[key] = value;
      out['x-format-description'] = 'text without U+0000 (NUL), which cannot be stored';
    } else out[key] = toJsonSchema(value);
  }
  return out;
}

const ref = (item: Named) => ({ $ref: `#/components/schemas/${item.name}` });

function parametersOf(op: Operation, route: { path: string }): Json[] {
  const inPath = [...route.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!);
  const pathProperties = (op.params?.properties ?? {}) as Record<string, TSchema>;
  const missing = inPath.filter((name) => !(name in pathProperties));
  if (missing.length > 0) throw new Error(`OpenAPI: ${route.path} has no schema for ${missing.join(', ')}`);
  const params: Json[] = inPath.map((name) => ({ name, in: 'path', required: true, schema: toJsonSchema(pathProperties[name]) }));
  const query = op.query;
  if (query !== undefined) {
    const required = new Set<string>(query.required ?? []);
    for (const [name, schema] of Object.entries(query.properties as Record<string, TSchema>)) {
      params.push({ name, in: 'query', required: required.has(name), schema: toJsonSchema(schema) });
    }
  }
  for (const header of op.headers ?? []) {
    params.push({
      name: header.name,
      in: 'header',
      required: header.required,
      description: header.description,
      schema: { type: 'string' },
    });
  }
  if (op.idempotent) {
    params.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description:
        'The same key with the same request answers the first answer again (`Idempotent-Replayed: true`) and does nothing more; kept 24 h',
      schema: { type: 'string', minLength: 1, maxLength: 255 },
    });
  }
  params.push(...TRACE_PARAMETERS);
  return params;
}

/** Every operation takes a correlation id and a W3C trace (platform/requestTrace), and answers the id. */
const TRACE_PARAMETERS: readonly Json[] = [
  {
    name: 'X-Request-Id',
    in: 'header',
    required: false,
    description:
      'Your correlation id for this request: carried by every event, message and log line it causes, and answered in X-Request-Id. Without one (or one of other characters), the trace id is used',
    schema: { type: 'string', pattern: '^[A-Za-z0-9._\\-:/+=@]{1,128}$' },
  },
  {
    name: 'traceparent',
    in: 'header',
    required: false,
    description: 'W3C Trace Context; continued when it parses, a new trace otherwise',
    schema: { type: 'string', pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-.*)?$' },
  },
];

const REQUEST_ID_ANSWER: Json = {
  'X-Request-Id': {
    description: "The request's correlation id: the X-Request-Id sent, or the one made for it",
    schema: { type: 'string' },
  },
};

function problemLink(slug: string): string {
  const type = PROBLEM_TYPE_BY_SLUG.get(slug);
  if (type === undefined) throw new Error(`OpenAPI: problem type ${slug} is not in platform/problemTypes`);
  return `[${slug}](/problems/${slug})`;
}

function responsesOf(op: Operation, slugs: readonly string[]): Json {
  const responses: Json = {};
  for (const [status, answer] of Object.entries(op.answers)) {
    const content: Json = {};
    if (answer.body !== undefined) content['application/json'] = { schema: ref(answer.body) };
    for (const type of answer.alternatives ?? [])
      content[type] = { schema: { type: 'string', format: type === 'application/pdf' ? 'binary' : 'html' } };
    responses[status] = {
      description: answer.description,
      ...(Object.keys(content).length > 0 ? { content } : {}),
      headers: {
        ...REQUEST_ID_ANSWER,
        ...Object.fromEntries(
          Object.entries(answer.headers ?? {}).map(([name, description]) => [name, { description, schema: { type: 'string' } }]),
        ),
      },
    };
  }
  const byStatus = new Map<number, string[]>();
  for (const slug of new Set(slugs)) {
    const type = PROBLEM_TYPE_BY_SLUG.get(slug);
    if (type === undefined) throw new Error(`OpenAPI: problem type ${slug} is not in platform/problemTypes`);
    byStatus.set(type.status, [...(byStatus.get(type.status) ?? []), slug]);
  }
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: group.map(problemLink).join(', '),
      headers: REQUEST_ID_ANSWER,
      content: {
        'application/problem+json': {
          schema: ref(S.Problem),
          examples: Object.fromEntries(group.map((slug) => [slug, { $ref: `#/components/examples/${slug}` }])),
        },
      },
    };
  }
  return responses;
}

function operationOf(route: { method: Method; path: string; scope?: string }, op: Operation): Json {
  const signed = route.scope === undefined;
  const slugs = [
    ...(signed ? [] : KEY_PROBLEMS),
    ...(op.params !== undefined || op.query !== undefined || op.headers !== undefined ? ['validation-error'] : []),
    ...(op.body !== undefined ? BODY_PROBLEMS : []),
    ...(op.idempotent ? IDEMPOTENCY_PROBLEMS : []),
    ...(op.problems ?? []),
    ...OUR_PROBLEMS,
  ];
  const description = [
    op.description,
    signed
      ? 'Authenticated by a Standard Webhooks signature, not an API key.'
      : `Needs an API key with the scope \`${route.scope}\` (or \`admin\`).`,
  ]
    .filter((line) => line !== undefined)
    .join('\n\n');
  return {
    operationId: operationId(route.method, route.path),
    summary: op.summary,
    description,
    tags: [op.tag],
    parameters: parametersOf(op, route),
    ...(op.body === undefined
      ? {}
      : { requestBody: { required: op.bodyOptional !== true, content: { 'application/json': { schema: ref(op.body) } } } }),
    responses: responsesOf(op, slugs),
    security: signed ? [{ standardWebhooks: [] }] : [{ bearerAuth: [route.scope] }],
    ...(signed ? {} : { 'x-required-scope': route.scope }),
  };
}

/** `POST /api/v1/orders/{order_id}/cancel` → `postOrdersOrderIdCancel`. */
function operationId(method: string, path: string): string {
  const words = path
    .replace(/^\/api\/v1\//, '')
    .split(/[/{}_-]+/)
    .filter((w) => w.length > 0);
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

/** The OpenAPI 3.1 document, built once at start. Throws when a route and its description do not match. */
export function buildOpenApiDocument(): Json {
  const routes: Array<{ method: Method; path: string; scope?: string }> = [...API_ROUTES, ...SIGNED_ROUTES];
  const keys = new Set(routes.map((r) => `${r.method} ${r.path}`));
  const undescribed = [...keys].filter((key) => OPERATIONS[key] === undefined);
  const unrouted = Object.keys(OPERATIONS).filter((key) => !keys.has(key));
  if (undescribed.length > 0 || unrouted.length > 0) {
    throw new Error(
      `OpenAPI: routes without a description: ${undescribed.join('; ') || 'none'}; descriptions without a route: ${unrouted.join('; ') || 'none'}`,
    );
  }
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    const item = (paths[route.path] ??= {});
    item[route.method.toLowerCase()] = operationOf(route, OPERATIONS[`${route.method} ${route.path}`]!);
  }
  paths[OPENAPI_PATH] = {
    get: {
      operationId: 'getOpenapiJson',
      summary: 'This document',
      description: 'Open: no API key needed. A browsable reference of it is at /docs.',
      tags: ['About'],
      security: [],
      responses: {
        200: { description: 'The OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } },
      },
    },
  };
  const schemas = Object.fromEntries(Object.values(S).map((item) => [item.name, toJsonSchema(item.schema)]));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Order management system API',
      version: API_VERSION,
      description: [
        'Place, change, cancel and refund orders; read them back from the read model; subscribe to their events.',
        'Money is an integer in minor units with an ISO 4217 `currency`. Ids the system assigns are UUIDv7.',
        'Every error is `application/problem+json` (RFC 9457) whose `type` names the reason: `/problems/<slug>` answers a page about it.',
        '',
        '| Problem type | Status | Title |',
        '| --- | --- | --- |',
        ...PROBLEM_TYPES.map((p) => `| [${p.slug}](/problems/${p.slug}) | ${p.status} | ${p.title} |`),
      ].join('\n'),
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: '/', description: 'This server' }],
    tags: [
      { name: 'Orders', description: 'Carts, placement, changes, cancellation, refunds (the command side)' },
      { name: 'Reads', description: 'Orders, events and invoices from the read model (the query side)' },
      { name: 'Catalog', description: 'Products, warehouses, stock' },
      { name: 'Channels', description: 'Marketplaces that push orders as signed webhooks' },
      { name: 'Webhooks', description: 'Outbound order events to your URL, signed as Standard Webhooks prescribe' },
      { name: 'Admin', description: 'API keys, stuck sagas, dead letters, the ops overview' },
      { name: 'About', description: 'This description' },
    ],
    paths,
    components: {
      schemas,
      examples: Object.fromEntries(
        PROBLEM_TYPES.map((p) => [
          p.slug,
          { summary: p.title, value: { type: `/problems/${p.slug}`, title: p.title, status: p.status, detail: p.description } },
        ]),
      ),
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key as `Authorization: Bearer <key>`. Each operation names the scope it needs (orders:write, orders:read, refunds:write, catalog:write, webhooks:write; admin has them all). Missing or unknown key → 401, missing scope → 403.',
        },
        standardWebhooks: {
          type: 'apiKey',
          in: 'header',
          name: 'webhook-signature',
          description:
            'A Standard Webhooks signature: `webhook-signature: v1,<base64 HMAC-SHA256 of "webhook-id.webhook-timestamp.body">` keyed by the marketplace\'s secret (the base64 after `whsec_`).',
        },
      },
    },
  };
}
