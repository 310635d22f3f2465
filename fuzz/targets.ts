import fc from 'fast-check';
import { ORDER_STATUSES } from '../domain/order.js';
import {
  accepts,
  bodyText,
  contentTypes,
  dateTimes,
  encodeSegment,
  idempotencyKeys,
  idShapes,
  ifMatches,
  mutatedJson,
  numbers,
  queryStrings,
  segments,
  strings,
  type Json,
} from './inputs.js';

/** The HTTP services the fuzzer feeds: the public API (commands, queries, admin) and the partners' sandboxes. */
export type Service = 'api' | 'psp' | 'carrier';

/** One request as the fuzzer sends it; `target` names the endpoint it aims at. */
export interface FuzzRequest {
  readonly target: string;
  readonly service: Service;
  readonly method: string;
  /** Path and query, already encoded for the wire. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** Sent without Content-Length (chunked), which the fast placement path leaves to express. */
  readonly chunked: boolean;
}

/** What the system holds when the run starts, so that generated requests also name things that exist. */
export interface FuzzContext {
  readonly skus: readonly string[];
  readonly warehouseIds: readonly string[];
  readonly customerIds: readonly string[];
  readonly orderIds: readonly string[];
  readonly itemIds: readonly string[];
  readonly cartIds: readonly string[];
  readonly authorizationIds: readonly string[];
  readonly captureIds: readonly string[];
  readonly trackingNumbers: readonly string[];
}

interface Target {
  readonly name: string;
  readonly service: Service;
  readonly method: string;
  readonly path: fc.Arbitrary<string>;
  readonly query?: Readonly<Record<string, fc.Arbitrary<string>>>;
  /** A valid body, which the fuzzer mutates; none for requests without one. */
  readonly body?: Json;
  readonly idempotent?: boolean;
  readonly ifMatch?: boolean;
  readonly accept?: boolean;
}

const address = { name: 'Ada Lovelace', line1: '12 St James Square', city: 'London', postal_code: 'SW1Y 4JH', country: 'GB' };

/** Every endpoint of the public API and of the partners' HTTP sandboxes, with a valid body to start from. */
export function fuzzTargets(ctx: FuzzContext): Target[] {
  const ids = [...ctx.orderIds, ...ctx.itemIds, ...ctx.cartIds, ...ctx.authorizationIds, ...ctx.captureIds];
  const seg = segments(ids);
  const clientIds = [...ctx.skus, ...ctx.warehouseIds, ...ctx.customerIds];
  const clientSeg = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...clientIds).map(encodeSegment) },
    { weight: 1, arbitrary: seg },
  );
  const order = fc.oneof(fc.constantFrom(...ctx.orderIds), idShapes(ids)).map(encodeSegment);
  const orderSeg = fc.oneof({ weight: 3, arbitrary: order }, { weight: 1, arbitrary: seg });
  const sku = ctx.skus[0] as string;
  const item = ctx.itemIds[0] as string;
  const asText = (a: fc.Arbitrary<unknown>) => a.map((v) => String(v));
  const limits = fc.oneof(asText(numbers), fc.constantFrom('1', '20', '200', '201', '1000', '1001', '01', ' 1', 'all'));
  const cursors = fc.oneof(
    fc.tuple(dateTimes, idShapes(ids)).map((pair) => Buffer.from(JSON.stringify(pair)).toString('base64url')),
    fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify(v) ?? '').toString('base64url')),
    strings,
  );
  const api = (t: Omit<Target, 'service'>): Target => ({ ...t, service: 'api' });
  const psp = (t: Omit<Target, 'service'>): Target => ({ ...t, service: 'psp' });
  const pspId = (known: readonly string[]) =>
    fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known).map(encodeSegment) }, { weight: 1, arbitrary: seg });

  return [
    api({ name: 'GET /health', method: 'GET', path: fc.constant('/health') }),
    api({
      name: 'PUT /api/v1/products/{sku}',
      method: 'PUT',
      path: clientSeg.map((s) => `/api/v1/products/${s}`),
      body: { name: 'Fuzz mug', price: 1299, currency: 'USD', weight_grams: 350 },
      idempotent: true,
    }),
    api({
      name: 'PUT /api/v1/warehouses/{id}',
      method: 'PUT',
      path: clientSeg.map((s) => `/api/v1/warehouses/${s}`),
      body: {
        name: 'Fuzz warehouse',
        location: { lat: 40.7, lon: -74 },
        capacity_per_day: 100,
        carriers: ['ups', 'dhl'],
        shipping_cost_per_kg: 400,
      },
      idempotent: true,
    }),
    api({
      name: 'PUT /api/v1/inventory/{warehouse_id}/{sku}',
      method: 'PUT',
      path: fc.tuple(clientSeg, clientSeg).map(([w, s]) => `/api/v1/inventory/${w}/${s}`),
      body: { on_hand: 25 },
      idempotent: true,
    }),
    api({ name: 'GET /api/v1/inventory/{sku}', method: 'GET', path: clientSeg.map((s) => `/api/v1/inventory/${s}`) }),
    api({
      name: 'POST /api/v1/carts',
      method: 'POST',
      path: fc.constant('/api/v1/carts'),
      body: { customer_id: 'fuzz-customer', channel: 'web', currency: 'USD', items: [{ sku, quantity: 1 }] },
      idempotent: true,
    }),
    api({
      name: 'GET /api/v1/carts/{id}',
      method: 'GET',
      path: fc.oneof(fc.constantFrom(...ctx.cartIds).map(encodeSegment), seg).map((s) => `/api/v1/carts/${s}`),
    }),
    api({
      name: 'POST /api/v1/orders',
      method: 'POST',
      path: fc.constant('/api/v1/orders'),
      body: {
        customer_id: 'fuzz-customer',
        channel: 'web',
        external_order_id: 'fuzz-ext-1',
        currency: 'USD',
        items: [
          { sku, quantity: 1 },
          { sku: ctx.skus[1] ?? sku, quantity: 2 },
        ],
        shipping_address: { ...address, line2: 'Flat 2', lat: 51.5, lon: -0.13 },
        billing_address: address,
        payment_method: { type: 'card', token: 'tok_visa' },
      },
      idempotent: true,
    }),
    api({
      name: 'POST /api/v1/orders (from a cart)',
      method: 'POST',
      path: fc.constant('/api/v1/orders'),
      body: {
        cart_id: ctx.cartIds[0] as string,
        customer_id: 'fuzz-customer',
        channel: 'mobile',
        shipping_address: address,
        payment_method: { type: 'card', token: 'tok_mastercard' },
      },
      idempotent: true,
    }),
    api({
      name: 'POST /api/v1/orders/{id}/cancel',
      method: 'POST',
      path: orderSeg.map((s) => `/api/v1/orders/${s}/cancel`),
      body: { reason: 'changed my mind' },
      idempotent: true,
    }),
    api({
      name: 'PATCH /api/v1/orders/{id}',
      method: 'PATCH',
      path: orderSeg.map((s) => `/api/v1/orders/${s}`),
      body: {
        items: [
          { item_id: item, quantity: 2 },
          { sku, quantity: 1 },
        ],
        add_items: [{ sku: ctx.skus[1] ?? sku, quantity: 1 }],
        remove_items: [ctx.itemIds[1] ?? item],
        shipping_address: address,
      },
      idempotent: true,
      ifMatch: true,
    }),
    api({
      name: 'POST /api/v1/orders/{id}/refunds',
      method: 'POST',
      path: orderSeg.map((s) => `/api/v1/orders/${s}/refunds`),
      body: { items: [{ item_id: item, quantity: 1 }], amount: 100, reason: 'arrived broken' },
      idempotent: true,
    }),
    api({
      name: 'GET /api/v1/admin/sagas',
      method: 'GET',
      path: fc.constant('/api/v1/admin/sagas'),
      query: { stuck: fc.oneof(fc.constantFrom('true', 'false', 'TRUE', '1', ''), strings), limit: limits },
    }),
    api({
      name: 'GET /api/v1/orders/{id}',
      method: 'GET',
      path: orderSeg.map((s) => `/api/v1/orders/${s}`),
      // min_version only on ids that are no order or an old one: a fresh order's wait is the contract's 2 s.
      query: { as_of: dateTimes, min_version: fc.oneof(asText(numbers), fc.constantFrom('1', '0', '01', '1e3', '999999999')) },
    }),
    api({
      name: 'GET /api/v1/orders/{id}/events',
      method: 'GET',
      path: orderSeg.map((s) => `/api/v1/orders/${s}/events`),
      query: { after_seq: fc.oneof(asText(numbers), fc.constantFrom('0', '1', '-1', '999999999', '9999999999')), limit: limits },
    }),
    api({ name: 'GET /api/v1/orders/{id}/invoices', method: 'GET', path: orderSeg.map((s) => `/api/v1/orders/${s}/invoices`) }),
    api({ name: 'GET /api/v1/invoices/{id}', method: 'GET', path: seg.map((s) => `/api/v1/invoices/${s}`), accept: true }),
    api({
      name: 'GET /api/v1/customers/{id}/orders',
      method: 'GET',
      path: clientSeg.map((s) => `/api/v1/customers/${s}/orders`),
      query: { limit: limits, cursor: cursors, status: fc.constantFrom(...ORDER_STATUSES) },
    }),
    api({
      name: 'GET /api/v1/orders',
      method: 'GET',
      path: fc.constant('/api/v1/orders'),
      query: { limit: limits, cursor: cursors, status: fc.oneof(fc.constantFrom(...ORDER_STATUSES), strings) },
    }),
    api({
      name: 'any method, any path',
      method: '*',
      path: fc.oneof(
        fc.constantFrom(
          '/',
          '/api',
          '/api/v1',
          '/api/v1/',
          '/api/v1/ORDERS',
          '//api//v1//orders',
          '/api/v1/orders/',
          '/api/v1/orders/../../health',
          '/api/v1/orders?',
          '/health/..',
          '/%2e%2e/%2e%2e/etc/passwd',
          '/api/v1/admin',
          '/api/v1/admin/sagas/x',
        ),
        fc.array(seg, { minLength: 1, maxLength: 6 }).map((parts) => `/api/v1/${parts.join('/')}`),
        fc.integer({ min: 2_000, max: 20_000 }).map((n) => `/api/v1/orders/${'a'.repeat(n)}`),
      ),
      body: { any: 'thing' },
    }),
    psp({ name: 'PSP GET /health', method: 'GET', path: fc.constant('/health') }),
    psp({
      name: 'PSP POST /v1/authorizations',
      method: 'POST',
      path: fc.constant('/v1/authorizations'),
      body: { amount: 1000, currency: 'USD', token: 'tok_visa', reference: 'fuzz-reference' },
      idempotent: true,
    }),
    psp({
      name: 'PSP GET /v1/authorizations?reference=',
      method: 'GET',
      path: fc.constant('/v1/authorizations'),
      query: { reference: fc.oneof(fc.constant('fuzz-reference'), strings) },
    }),
    psp({
      name: 'PSP GET /v1/authorizations/{id}',
      method: 'GET',
      path: pspId(ctx.authorizationIds).map((s) => `/v1/authorizations/${s}`),
    }),
    ...(['reversals', 'captures'] as const).map((action) =>
      psp({
        name: `PSP POST /v1/authorizations/{id}/${action}`,
        method: 'POST',
        path: pspId(ctx.authorizationIds).map((s) => `/v1/authorizations/${s}/${action}`),
        body: { amount: 100 },
        idempotent: true,
      }),
    ),
    psp({
      name: 'PSP POST /v1/authorizations/{id}/void',
      method: 'POST',
      path: pspId(ctx.authorizationIds).map((s) => `/v1/authorizations/${s}/void`),
      body: {},
      idempotent: true,
    }),
    psp({
      name: 'PSP POST /v1/captures/{id}/refunds',
      method: 'POST',
      path: pspId(ctx.captureIds).map((s) => `/v1/captures/${s}/refunds`),
      body: { amount: 100 },
      idempotent: true,
    }),
    psp({
      name: 'PSP POST /v1/risk-assessments',
      method: 'POST',
      path: fc.constant('/v1/risk-assessments'),
      body: { token: 'tok_visa' },
    }),
    psp({ name: 'PSP POST /v1/sandbox/outage', method: 'POST', path: fc.constant('/v1/sandbox/outage'), body: { down: false } }),
    psp({
      name: 'PSP any method, any path',
      method: '*',
      path: fc.array(seg, { maxLength: 4 }).map((p) => `/v1/${p.join('/')}`),
    }),
    { name: 'carrier GET /health', service: 'carrier', method: 'GET', path: fc.constant('/health') },
    {
      name: 'carrier GET /v1/carriers/{carrier}/tracking/{number}',
      service: 'carrier',
      method: 'GET',
      path: fc
        .tuple(
          fc.oneof(fc.constantFrom('ups', 'fedex', 'usps', 'dhl', 'postnl', 'UPS', 'acme'), seg),
          fc.oneof(
            fc.constantFrom(...ctx.trackingNumbers),
            fc
              .tuple(
                fc.constantFrom('UPS', 'DHL', 'USPS', 'XX'),
                fc.stringMatching(/^[0-9a-z]{1,13}$/),
                fc.stringMatching(/^[0-9A-Z]{6}$/),
              )
              .map(([c, at, r]) => `${c}-${at}-${r}`),
            seg,
          ),
        )
        .map(([carrier, number]) => `/v1/carriers/${encodeSegment(carrier)}/tracking/${encodeSegment(number)}`),
    },
  ];
}

/** Node's HTTP server refuses a request head over 16 KiB before any of our code sees it (431). */
const MAX_PATH = 12_000;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const WITHOUT_BODY = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

/** Requests of every target, in any order and mixture: what a run sends. */
export function fuzzRequests(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const ids = [...ctx.orderIds, ...ctx.itemIds, ...ctx.cartIds];
  return fc.oneof(...fuzzTargets(ctx).map((target) => requestsFor(target, ids)));
}

function requestsFor(target: Target, ids: readonly string[]): fc.Arbitrary<FuzzRequest> {
  const method = target.method === '*' ? fc.constantFrom(...METHODS) : fc.constant(target.method);
  const body =
    target.body === undefined
      ? fc.constant(undefined)
      : fc.option(bodyText(mutatedJson(target.body, ids)), { freq: 12, nil: undefined });
  return fc
    .record({
      method,
      path: target.path,
      query: target.query === undefined ? fc.constant('') : queryStrings(target.query),
      body,
      contentType: contentTypes,
      idempotencyKey: target.idempotent === true ? idempotencyKeys : fc.constant(undefined),
      ifMatch: target.ifMatch === true ? ifMatches(ids) : fc.constant(undefined),
      accept: target.accept === true ? accepts : fc.constant(undefined),
      chunked: fc.boolean(),
      contentEncoding: fc.option(fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-unknown', 'gzip, gzip'), {
        freq: 10,
        nil: undefined,
      }),
    })
    .map((r) => {
      const headers: Record<string, string> = {};
      const sendsBody = r.body !== undefined && !WITHOUT_BODY.has(r.method);
      if (sendsBody && r.contentType !== undefined) headers['Content-Type'] = r.contentType;
      if (r.idempotencyKey !== undefined) headers['Idempotency-Key'] = r.idempotencyKey;
      if (r.ifMatch !== undefined) headers['If-Match'] = r.ifMatch;
      if (r.accept !== undefined) headers.Accept = r.accept;
      if (sendsBody && r.contentEncoding !== undefined) headers['Content-Encoding'] = r.contentEncoding;
      return {
        target: target.name,
        service: target.service,
        method: r.method,
        path: (r.path + r.query).slice(0, MAX_PATH),
        headers,
        ...(sendsBody ? { body: harmless(target, r.body as string | Buffer) } : {}),
        chunked: r.chunked,
      };
    });
}

/**
 * The sandboxes' deliberate behaviours are not defects: `tok_timeout` is never answered and
 * `{"down": true}` makes the PSP answer 503 to everything. The fuzzer does not ask for them.
 */
function harmless(target: Target, body: string | Buffer): string | Buffer {
  if (target.service !== 'psp' || typeof body !== 'string') return body;
  return body.replace(/tok_timeout/g, 'tok_timeoux').replace(/true/g, 'tru3');
}
