import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { expect } from 'chai';
import { buildOpenApiDocument } from '../../api/openapi.js';
import { API_ROUTES, SIGNED_ROUTES } from '../../platform/access.js';
import { PgDeadLetters } from '../../platform/deadLetters.js';
import { signWebhook } from '../../platform/standardWebhooks.js';
import { bearer, createTestKey } from '../support/apiKeys.js';
import { orderBody, testAddress } from '../support/catalog.js';
import { eventually, uniqueId } from '../support/env.js';
import { startTestSystem, type TestSystem } from '../support/system.js';

const addFormats = addFormatsModule as unknown as { default: (ajv: Ajv2020) => Ajv2020 };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read the document and answers by field
type Json = Record<string, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers by field
type Body = any;
interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

/**
 * The API description against the real system (issue 14 item 1): every answer of a running test system
 * below, successes and problems, must be a status its operation documents, in a media type it
 * documents, with a body that validates against the document's own schema (ajv, JSON Schema 2020-12 as
 * OpenAPI 3.1 has it). At the end every route of API_ROUTES and SIGNED_ROUTES has answered a success.
 */
describe('the OpenAPI document against real answers (issue 14 item 1)', function () {
  this.timeout(120_000);
  const document = buildOpenApiDocument() as Json;
  const ajv = new Ajv2020({ allErrors: true, strict: false, logger: false });
  addFormats.default(ajv);
  ajv.addFormat('storable-text', true).addFormat('html', true).addFormat('binary', true);
  const compiled = new Map<string, ValidateFunction>();
  const validatorFor = (schema: Json): ValidateFunction => {
    const name = /^#\/components\/schemas\/(.+)$/.exec(String(schema.$ref))?.[1];
    const key = name ?? JSON.stringify(schema);
    let validate = compiled.get(key);
    if (validate === undefined) {
      validate = ajv.compile(name === undefined ? schema : document.components.schemas[name]);
      compiled.set(key, validate);
    }
    return validate;
  };

  /** `METHOD template` → the statuses it answered. */
  const seen = new Map<string, Set<number>>();

  /** Checks an answer against its operation in the document. */
  function conforms(method: string, template: string, answer: Answer): Answer {
    const operation = document.paths[template]?.[method.toLowerCase()];
    expect(operation, `${method} ${template} is not in the document`).to.be.an('object');
    const what = `${method} ${template} → ${answer.status} ${JSON.stringify(answer.body)?.slice(0, 300)}`;
    const response = operation.responses[String(answer.status)];
    expect(response, `${what}: status not documented`).to.be.an('object');
    const key = `${method} ${template}`;
    seen.set(key, (seen.get(key) ?? new Set()).add(answer.status));
    if (answer.status === 204 || answer.status === 304) {
      expect(answer.body, what).to.equal(undefined);
      return answer;
    }
    const mediaType = (answer.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const media = response.content?.[mediaType];
    expect(media, `${what}: media type ${mediaType} not documented`).to.be.an('object');
    const validate = validatorFor(media.schema);
    expect(validate(answer.body), `${what}: ${ajv.errorsText(validate.errors)}`).to.equal(true);
    return answer;
  }

  let system: TestSystem;
  before(async () => {
    system = await startTestSystem({ fulfillment: {} });
  });
  after(() => system.stop());

  const fill = (template: string, params: Record<string, string>) =>
    template.replace(/\{([a-z_]+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? 'missing'));
  const query = (q: Record<string, string> | undefined) => (q === undefined ? '' : `?${new URLSearchParams(q)}`);

  /** A request through the test system (its admin key unless the headers set Authorization), checked against the document. */
  async function call(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    template: string,
    options: {
      params?: Record<string, string>;
      query?: Record<string, string>;
      body?: unknown;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Answer & { body: Body }> {
    const path = fill(template, options.params ?? {}) + query(options.query);
    const headers = options.headers ?? {};
    const answer =
      method === 'GET'
        ? await system.get(path, headers)
        : method === 'DELETE'
          ? await system.delete(path, headers)
          : method === 'POST'
            ? await system.post(path, options.body, headers)
            : method === 'PUT'
              ? await system.put(path, options.body, headers)
              : await system.patch(path, options.body, headers);
    return conforms(method, template, answer);
  }

  /** A raw request (its own headers and body text), checked against the document. */
  async function raw(method: string, template: string, path: string, init: RequestInit): Promise<Answer & { body: Body }> {
    const response = await fetch(system.urlFor(method, path) + path, { method, ...init });
    const type = response.headers.get('content-type') ?? '';
    const text = await response.text();
    const body = text === '' ? undefined : /json/.test(type) ? JSON.parse(text) : text;
    return conforms(method, template, { status: response.status, headers: response.headers, body });
  }

  const missingId = '0190a000-0000-7000-8000-00000000abcd';
  let sku = '';
  let warehouse = '';

  it('catalog: products, warehouses, inventory, and their refusals', async () => {
    sku = uniqueId('SKU');
    warehouse = uniqueId('WH');
    const product = { name: 'Contract tester', price: 1250, currency: 'USD', weight_grams: 300 };
    expect((await call('PUT', '/api/v1/products/{sku}', { params: { sku }, body: product })).status).to.equal(201);
    expect((await call('PUT', '/api/v1/products/{sku}', { params: { sku }, body: { ...product, price: 1000 } })).status).to.equal(
      200,
    );
    const bad = await call('PUT', '/api/v1/products/{sku}', { params: { sku }, body: { ...product, price: -1, colour: 'red' } });
    expect(bad.status).to.equal(400);
    expect(bad.body.type).to.equal('/problems/validation-error');
    const depot = { name: 'Depot', location: { lat: 40.7, lon: -74 }, capacity_per_day: 1000, carriers: ['ups'] };
    expect(
      (await call('PUT', '/api/v1/warehouses/{warehouse_id}', { params: { warehouse_id: warehouse }, body: depot })).status,
    ).to.equal(201);
    const stock = await call('PUT', '/api/v1/inventory/{warehouse_id}/{sku}', {
      params: { warehouse_id: warehouse, sku },
      body: { on_hand: 50 },
    });
    expect(stock.status).to.equal(200);
    const unknown = await call('PUT', '/api/v1/inventory/{warehouse_id}/{sku}', {
      params: { warehouse_id: warehouse, sku: 'no-such-sku' },
      body: { on_hand: 5 },
    });
    expect(unknown.status).to.equal(404);
    expect((await call('GET', '/api/v1/inventory/{sku}', { params: { sku } })).body.available).to.equal(50);
    expect((await call('GET', '/api/v1/inventory/{sku}', { params: { sku: 'no-such-sku' } })).status).to.equal(404);
  });

  let orderId = '';
  let customer = '';

  it('orders: a cart, a placement, reads, and the refusals of each', async () => {
    customer = uniqueId('cust');
    const cart = await call('POST', '/api/v1/carts', {
      body: { customer_id: customer, channel: 'web', currency: 'USD', items: [{ sku, quantity: 1 }] },
    });
    expect(cart.status).to.equal(201);
    expect((await call('GET', '/api/v1/carts/{cart_id}', { params: { cart_id: cart.body.cart_id } })).status).to.equal(200);
    expect((await call('GET', '/api/v1/carts/{cart_id}', { params: { cart_id: missingId } })).status).to.equal(404);

    const placed = await call('POST', '/api/v1/orders', { body: orderBody(customer, [{ sku, quantity: 2 }]) });
    expect(placed.status).to.equal(202);
    orderId = placed.body.order_id;
    const fromCart = await call('POST', '/api/v1/orders', {
      body: { ...orderBody(customer, []), items: undefined, cart_id: cart.body.cart_id },
    });
    expect(fromCart.status).to.equal(202);
    const cartAgain = await call('POST', '/api/v1/orders', {
      body: { ...orderBody(customer, []), items: undefined, cart_id: cart.body.cart_id },
    });
    expect(cartAgain.body.type).to.equal('/problems/cart-already-ordered');

    const unknownSku = await call('POST', '/api/v1/orders', { body: orderBody(customer, [{ sku: 'no-such-sku', quantity: 1 }]) });
    expect([unknownSku.status, unknownSku.body.type]).to.deep.equal([422, '/problems/unknown-sku']);
    const tooMany = await call('POST', '/api/v1/orders', { body: orderBody(customer, [{ sku, quantity: 100_000 }]) });
    expect([tooMany.status, tooMany.body.type]).to.deep.equal([409, '/problems/insufficient-stock']);
    const invalid = await call('POST', '/api/v1/orders', {
      body: { ...orderBody(customer, [{ sku, quantity: 0 }]), channel: 'fax' },
    });
    expect(invalid.status).to.equal(400);
    expect(invalid.body.errors.length).to.be.greaterThan(1);
    const malformed = await raw('POST', '/api/v1/orders', '/api/v1/orders', {
      headers: { 'Content-Type': 'application/json', ...bearer(system.adminKey) },
      body: '{"customer_id": ',
    });
    expect([malformed.status, malformed.body.type]).to.deep.equal([400, '/problems/malformed-json']);
    const noKey = await call('POST', '/api/v1/orders', {
      body: orderBody(customer, [{ sku, quantity: 1 }]),
      headers: { Authorization: '' },
    });
    expect([noKey.status, noKey.body.type]).to.deep.equal([401, '/problems/unauthenticated']);
    const reader = await createTestKey(system.pool, { scopes: ['orders:read'] });
    const forbidden = await call('POST', '/api/v1/orders', {
      body: orderBody(customer, [{ sku, quantity: 1 }]),
      headers: bearer(reader.key),
    });
    expect([forbidden.status, forbidden.body.type]).to.deep.equal([403, '/problems/insufficient-scope']);
    const key = uniqueId('idem');
    expect(
      (
        await call('POST', '/api/v1/orders', {
          body: orderBody(customer, [{ sku, quantity: 1 }]),
          headers: { 'Idempotency-Key': key },
        })
      ).status,
    ).to.equal(202);
    const reused = await call('POST', '/api/v1/orders', {
      body: orderBody(customer, [{ sku, quantity: 3 }]),
      headers: { 'Idempotency-Key': key },
    });
    expect([reused.status, reused.body.type]).to.deep.equal([422, '/problems/idempotency-key-reused']);

    const read = await call('GET', '/api/v1/orders/{order_id}', { params: { order_id: orderId }, query: { min_version: '1' } });
    expect(read.status).to.equal(200);
    const etag = read.headers.get('etag')!;
    const notModified = await call('GET', '/api/v1/orders/{order_id}', {
      params: { order_id: orderId },
      headers: { 'If-None-Match': etag },
    });
    expect([200, 304]).to.include(notModified.status);
    expect((await call('GET', '/api/v1/orders/{order_id}', { params: { order_id: missingId } })).status).to.equal(404);
    expect((await call('GET', '/api/v1/orders/{order_id}', { params: { order_id: 'not-a-uuid' } })).status).to.equal(400);
    const past = await call('GET', '/api/v1/orders/{order_id}', {
      params: { order_id: orderId },
      query: { as_of: new Date(Date.now() + 60_000).toISOString() },
    });
    expect(past.status).to.equal(200);

    expect((await call('GET', '/api/v1/orders', { query: { limit: '5' } })).body.orders).to.have.length.at.least(1);
    expect((await call('GET', '/api/v1/orders', { query: { status: 'teleported' } })).status).to.equal(400);
    const mine = await call('GET', '/api/v1/customers/{customer_id}/orders', {
      params: { customer_id: customer },
      query: { limit: '2' },
    });
    expect(mine.body.orders).to.have.length(2);
    expect(mine.body.next_cursor).to.be.a('string');
    await call('GET', '/api/v1/customers/{customer_id}/orders', {
      params: { customer_id: customer },
      query: { cursor: mine.body.next_cursor },
    });
    const events = await call('GET', '/api/v1/orders/{order_id}/events', { params: { order_id: orderId } });
    expect(events.body.events[0].type).to.equal('order.placed');
    expect((await call('GET', '/api/v1/orders/{order_id}/events', { params: { order_id: missingId } })).status).to.equal(404);
    // The funnel (its table is kept by the projector process's consumer, not running here: the shape is what is checked).
    const funnel = await call('GET', '/api/v1/analytics/funnel', { query: { channel: 'web' } });
    expect(funnel.status).to.equal(200);
    expect((await call('GET', '/api/v1/analytics/funnel', { query: { from: 'yesterday' } })).status).to.equal(400);
  });

  it('a change and a cancellation of orders that can still take them', async () => {
    const changed = await call('POST', '/api/v1/orders', { body: orderBody(customer, [{ sku, quantity: 1 }]) });
    await system.waitForStatus(changed.body.order_id, ['confirmed', 'processing'], 30_000);
    const change = await call('PATCH', '/api/v1/orders/{order_id}', {
      params: { order_id: changed.body.order_id },
      body: { shipping_address: { ...testAddress, line1: '2 Other Street' } },
      headers: { 'If-Match': '*' },
    });
    expect(change.status, JSON.stringify(change.body)).to.equal(202);
    const cancelled = await call('POST', '/api/v1/orders', { body: orderBody(customer, [{ sku, quantity: 1 }]) });
    const cancel = await call('POST', '/api/v1/orders/{order_id}/cancel', {
      params: { order_id: cancelled.body.order_id },
      body: { reason: 'changed my mind' },
    });
    expect(cancel.status).to.equal(202);
    await system.waitForStatus(cancelled.body.order_id, ['cancelled'], 30_000);
    const again = await call('POST', '/api/v1/orders/{order_id}/cancel', { params: { order_id: cancelled.body.order_id } });
    expect(again.status).to.equal(200);
    const view = await call('GET', '/api/v1/orders/{order_id}', {
      params: { order_id: cancelled.body.order_id },
      query: { min_version: String(again.body.version) },
    });
    expect(view.body.status).to.equal('cancelled');
  });

  it('channels: a point-of-sale batch, a marketplace and its signed orders', async () => {
    const batch = await call('POST', '/api/v1/orders/batch', {
      body: {
        orders: [
          orderBody(uniqueId('pos'), [{ sku, quantity: 1 }], { channel: 'pos', external_order_id: uniqueId('pos-order') }),
          orderBody(uniqueId('pos'), [{ sku: 'no-such-sku', quantity: 1 }], {
            channel: 'pos',
            external_order_id: uniqueId('pos-order'),
          }),
        ],
      },
    });
    expect(batch.body.results.map((r: { status: number }) => r.status)).to.deep.equal([202, 422]);

    const marketplaceId = uniqueId('mkt');
    const registered = await call('PUT', '/api/v1/admin/marketplaces/{marketplace_id}', {
      params: { marketplace_id: marketplaceId },
      body: { name: 'Bazaar' },
    });
    expect(registered.status).to.equal(201);
    expect(
      (
        await call('PUT', '/api/v1/admin/marketplaces/{marketplace_id}', {
          params: { marketplace_id: marketplaceId },
          body: { name: 'Bazaar 2' },
        })
      ).status,
    ).to.equal(200);
    const rotated = await call('POST', '/api/v1/admin/marketplaces/{marketplace_id}/secrets', {
      params: { marketplace_id: marketplaceId },
    });
    expect(rotated.status).to.equal(201);
    const template = '/api/v1/channels/marketplace/{marketplace_id}/orders';
    const path = fill(template, { marketplace_id: marketplaceId });
    const text = JSON.stringify(
      orderBody(uniqueId('mp'), [{ sku, quantity: 1 }], { channel: 'marketplace', external_order_id: uniqueId('mp-order') }),
    );
    const signed = signWebhook([rotated.body.secret], uniqueId('msg'), Math.floor(Date.now() / 1000), text);
    const pushed = await raw('POST', template, path, { headers: { 'Content-Type': 'application/json', ...signed }, body: text });
    expect(pushed.status).to.equal(202);
    const forged = await raw('POST', template, path, {
      headers: { 'Content-Type': 'application/json', ...signed, 'webhook-signature': 'v1,AAAA' },
      body: text,
    });
    expect([forged.status, forged.body.type]).to.deep.equal([401, '/problems/invalid-webhook-signature']);
  });

  it('webhooks: subscribe, read, list, deliveries, rotate, enable, delete', async () => {
    const created = await call('POST', '/api/v1/webhooks', {
      body: { url: 'http://127.0.0.1:9/hook', events: ['order.confirmed'], description: 'contract' },
    });
    expect(created.status).to.equal(201);
    const webhook_id = created.body.webhook_id as string;
    expect((await call('GET', '/api/v1/webhooks')).body.webhooks.length).to.be.at.least(1);
    await call('GET', '/api/v1/webhooks/{webhook_id}', { params: { webhook_id } });
    await call('GET', '/api/v1/webhooks/{webhook_id}/deliveries', { params: { webhook_id }, query: { limit: '10' } });
    await call('POST', '/api/v1/webhooks/{webhook_id}/secrets', { params: { webhook_id } });
    await call('POST', '/api/v1/webhooks/{webhook_id}/enable', { params: { webhook_id } });
    expect((await call('DELETE', '/api/v1/webhooks/{webhook_id}', { params: { webhook_id } })).status).to.equal(204);
    expect((await call('GET', '/api/v1/webhooks/{webhook_id}', { params: { webhook_id } })).status).to.equal(404);
    expect((await call('POST', '/api/v1/webhooks', { body: { url: 'ftp://x', events: [] } })).status).to.equal(400);
  });

  it('admin: API keys, stuck sagas, dead letters, the ops overview', async () => {
    const created = await call('POST', '/api/v1/admin/api-keys', {
      body: { name: uniqueId('contract'), channel: 'web', scopes: ['orders:read'], rate_limit: { per_second: 5, burst: 10 } },
    });
    expect(created.status).to.equal(201);
    expect((await call('GET', '/api/v1/admin/api-keys')).body.api_keys.length).to.be.at.least(1);
    expect(
      (await call('DELETE', '/api/v1/admin/api-keys/{key_id}', { params: { key_id: created.body.key_id } })).status,
    ).to.equal(200);
    expect((await call('DELETE', '/api/v1/admin/api-keys/{key_id}', { params: { key_id: missingId } })).status).to.equal(404);
    await call('GET', '/api/v1/admin/sagas', { query: { stuck: 'true', limit: '10' } });
    expect((await call('GET', '/api/v1/admin/sagas')).status).to.equal(400);
    await call('GET', '/api/v1/admin/dead-letters', { query: { status: 'dead' } });
    const ops = await call('GET', '/api/v1/admin/ops');
    expect(ops.status).to.equal(200);
    expect(ops.body.throughput.minutes).to.have.length(ops.body.throughput.window_minutes);

    // Dead letters of this test's own, on a stream under its Redis prefix (re-driving adds the entry back there).
    const sink = new PgDeadLetters(system.pool, system.logger);
    const letter = async () =>
      (
        await sink.record({
          source: 'contract-test',
          transport: 'redis-stream',
          stream: `${system.layout.prefix}:contract-dead`,
          entryId: `${Date.now()}-${Math.floor(Math.random() * 1000)}`,
          type: 'order.placed',
          message: { type: 'order.placed' },
          error: 'boom',
          attempts: 3,
        })
      ).id;
    const redrive = await call('POST', '/api/v1/admin/dead-letters/{id}/redrive', { params: { id: await letter() } });
    expect(redrive.status).to.equal(200);
    const discardId = await letter();
    expect((await call('POST', '/api/v1/admin/dead-letters/{id}/discard', { params: { id: discardId } })).status).to.equal(200);
    const twice = await call('POST', '/api/v1/admin/dead-letters/{id}/discard', { params: { id: discardId } });
    expect([twice.status, twice.body.type]).to.deep.equal([409, '/problems/dead-letter-discarded']);
    expect((await call('POST', '/api/v1/admin/dead-letters/{id}/redrive', { params: { id: missingId } })).status).to.be.oneOf([
      404, 503,
    ]);
  });

  // Last but one: the first order was placed at the start, and ships while the tests above run.
  it('after delivery: invoices as JSON and HTML, a refund and its refusal, the changes an order no longer takes', async function () {
    this.timeout(180_000);
    const final = await system
      .waitForStatus(orderId, ['delivered', 'rejected', 'cancelled'], 150_000)
      .catch(async (error: Error) => {
        const state = await system.pool.query(
          'SELECT o.status, s.saga_type, s.status AS saga, s.current_step FROM orders o LEFT JOIN sagas s USING (order_id) WHERE order_id = $1',
          [orderId],
        );
        const shipments = await system.pool.query('SELECT * FROM shipments WHERE order_id = $1', [orderId]);
        throw new Error(`${error.message}: ${JSON.stringify(state.rows)} ${JSON.stringify(shipments.rows)}`);
      });
    expect(final).to.equal('delivered');
    const invoices = await eventually('the invoice', async () => {
      const list = await call('GET', '/api/v1/orders/{order_id}/invoices', { params: { order_id: orderId } });
      return list.body.invoices.length > 0 ? list.body.invoices : undefined;
    });
    const invoiceId = invoices[0].invoice_id as string;
    const invoice = await call('GET', '/api/v1/invoices/{invoice_id}', { params: { invoice_id: invoiceId } });
    expect(invoice.body.lines[0].sku).to.equal(sku);
    const html = await raw('GET', '/api/v1/invoices/{invoice_id}', `/api/v1/invoices/${invoiceId}`, {
      headers: { Accept: 'text/html', ...bearer(system.adminKey) },
    });
    expect(html.body).to.include(invoice.body.number);
    expect((await call('GET', '/api/v1/invoices/{invoice_id}', { params: { invoice_id: missingId } })).status).to.equal(404);
    expect((await call('GET', '/api/v1/orders/{order_id}/invoices', { params: { order_id: missingId } })).status).to.equal(404);

    const view = await call('GET', '/api/v1/orders/{order_id}', { params: { order_id: orderId }, query: { min_version: '1' } });
    expect(view.body.shipments.length).to.be.greaterThan(0);
    const refund = await call('POST', '/api/v1/orders/{order_id}/refunds', {
      params: { order_id: orderId },
      body: { amount: 500, reason: 'scratched' },
    });
    expect(refund.status).to.equal(202);
    const tooMuch = await call('POST', '/api/v1/orders/{order_id}/refunds', {
      params: { order_id: orderId },
      body: { amount: 1_000_000, reason: 'everything' },
    });
    expect([tooMuch.status, tooMuch.body.type]).to.deep.equal([422, '/problems/refund-exceeds-captured']);

    const cancel = await call('POST', '/api/v1/orders/{order_id}/cancel', { params: { order_id: orderId }, body: {} });
    expect([cancel.status, cancel.body.type]).to.deep.equal([409, '/problems/order-not-cancellable']);
    const change = { shipping_address: { ...testAddress, line1: '1 Other Street' } };
    const noIfMatch = await call('PATCH', '/api/v1/orders/{order_id}', { params: { order_id: orderId }, body: change });
    expect([noIfMatch.status, noIfMatch.body.type]).to.deep.equal([428, '/problems/precondition-required']);
    const stale = await call('PATCH', '/api/v1/orders/{order_id}', {
      params: { order_id: orderId },
      body: change,
      headers: { 'If-Match': '"1"' },
    });
    expect([stale.status, stale.body.type]).to.deep.equal([412, '/problems/version-mismatch']);
    const late = await call('PATCH', '/api/v1/orders/{order_id}', {
      params: { order_id: orderId },
      body: change,
      headers: { 'If-Match': '*' },
    });
    expect([late.status, late.body.type]).to.deep.equal([409, '/problems/order-not-modifiable']);
  });

  it('every route of API_ROUTES and SIGNED_ROUTES answered a success that conforms', () => {
    const missing = [...API_ROUTES, ...SIGNED_ROUTES]
      .map((r) => `${r.method} ${r.path}`)
      .filter((key) => ![...(seen.get(key) ?? [])].some((status) => status < 300));
    expect(missing).to.deep.equal([]);
  });
});
