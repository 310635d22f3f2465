import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import express from 'express';
import { createFastPlacement } from '../../command-service/fastPlacement.js';
import { listen, problemHandler } from '../../platform/http.js';
import { createUuidv7Generator } from '../../platform/ids.js';
import { createLogger } from '../../platform/logger.js';
import { createCatalog, orderBody, testAddress } from '../support/catalog.js';
import { startApi, startCommandApi, type ApiResponse, type TestApi } from '../support/commandApi.js';
import { testPool, uniqueId } from '../support/env.js';
import type { Principal } from '../../platform/access.js';
import { ApiKeyCache, guardApi } from '../../platform/authentication.js';
import { bearer } from '../support/apiKeys.js';

describe('bad input gets problem+json and changes nothing (contract §2)', () => {
  let api: TestApi;
  before(async () => {
    api = await startCommandApi();
  });
  after(() => api.close());

  const good = () => orderBody(uniqueId('invalid'), [{ sku: 'ANY', quantity: 1 }]);

  // `any`: each case mutates one field of a plain JSON body on purpose.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const fieldCases: Array<[string, (b: Record<string, any>) => void, string]> = [
    ['missing customer_id', (b) => delete b.customer_id, '/customer_id'],
    ['customer_id with a space', (b) => (b.customer_id = 'a b'), '/customer_id'],
    ['customer_id longer than 64', (b) => (b.customer_id = 'c'.repeat(65)), '/customer_id'],
    ['unknown channel', (b) => (b.channel = 'fax'), '/channel'],
    ['zero quantity', (b) => (b.items[0].quantity = 0), '/items/0/quantity'],
    ['fractional quantity', (b) => (b.items[0].quantity = 1.5), '/items/0/quantity'],
    ['quantity as a string', (b) => (b.items[0].quantity = '2'), '/items/0/quantity'],
    ['empty items', (b) => (b.items = []), '/items'],
    ['missing sku', (b) => delete b.items[0].sku, '/items/0/sku'],
    ['lower-case currency', (b) => (b.currency = 'usd'), '/currency'],
    ['three-letter country', (b) => (b.shipping_address = { ...testAddress, country: 'GBR' }), '/shipping_address/country'],
    ['missing address line1', (b) => (b.shipping_address = { ...testAddress, line1: undefined }), '/shipping_address/line1'],
    ['latitude out of range', (b) => (b.shipping_address = { ...testAddress, lat: 91, lon: 0 }), '/shipping_address/lat'],
    ['payment type other than card', (b) => (b.payment_method = { type: 'cash', token: 'x' }), '/payment_method/type'],
    ['missing payment token', (b) => (b.payment_method = { type: 'card' }), '/payment_method/token'],
    [
      'cart_id not a uuid',
      (b) => {
        delete b.items;
        b.cart_id = 'cart-1';
      },
      '/cart_id',
    ],
    ['unknown field', (b) => (b.discount = 100), '/discount'],
  ];

  for (const [name, mutate, pointer] of fieldCases) {
    it(`400 for ${name}, naming ${pointer}`, async () => {
      const body = JSON.parse(JSON.stringify(good()));
      mutate(body);
      const res = await api.post('/api/v1/orders', body);
      expect(res.status).to.equal(400);
      expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
      expect(res.body).to.include({ status: 400, title: 'Request is invalid' });
      expect(res.body.type).to.match(/validation-error$/);
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).to.include(pointer);
    });
  }

  it('reports every bad field at once', async () => {
    const res = await api.post('/api/v1/orders', { channel: 'fax', items: [{ sku: 'A', quantity: -1 }] });
    const pointers = res.body.errors.map((e: { pointer: string }) => e.pointer);
    expect(pointers).to.include.members([
      '/customer_id',
      '/channel',
      '/items/0/quantity',
      '/shipping_address',
      '/payment_method',
    ]);
  });

  it('400 malformed-json for a body that is not JSON', async () => {
    const res = await api.request('POST', '/api/v1/orders', {
      raw: '{"customer_id": ',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(res.status).to.equal(400);
    expect(res.body.type).to.match(/malformed-json$/);
  });

  it('400 for a JSON body that is not an object', async () => {
    for (const raw of ['[]', '"text"', '42', 'null']) {
      const res = await api.request('POST', '/api/v1/orders', { raw, headers: { 'Content-Type': 'application/json' } });
      expect(res.status, raw).to.equal(400);
      expect(res.body.errors[0].pointer, raw).to.equal('');
    }
  });

  it('413 for a body over 1 MiB', async () => {
    const body = { ...good(), padding: 'x'.repeat(1024 * 1024 + 10) };
    const res = await api.post('/api/v1/orders', body);
    expect(res.status).to.equal(413);
    expect(res.body.type).to.match(/payload-too-large$/);
  });

  it('415 for a body that is not JSON by its media type', async () => {
    const res = await api.request('POST', '/api/v1/orders', {
      raw: 'customer_id=1',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).to.equal(415);
  });

  it('takes a gzip-compressed order as express does, on the fast path too (no malformed-json)', async () => {
    const body = gzipSync(JSON.stringify(orderBody(uniqueId('invalid'), [{ sku: uniqueId('NO-SUCH-SKU'), quantity: 1 }])));
    const res = await fetch(`${api.baseUrl}/api/v1/orders`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'Content-Encoding': 'gzip',
        'Content-Length': String(body.length),
        ...bearer(api.adminKey),
      },
      body,
    });
    expect(res.status).to.equal(422);
    expect(((await res.json()) as { type: string }).type).to.equal('/problems/unknown-sku');
  });

  it('404 problem for an unknown route', async () => {
    const res = await api.get('/api/v1/nothing-here');
    expect(res.status).to.equal(404);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
  });

  it('wrote no order for any of the above', async () => {
    const result = await testPool().query(`SELECT count(*)::int AS n FROM orders WHERE customer_id LIKE 'invalid-%'`);
    expect(result.rows[0].n).to.equal(0);
  });
});

describe('bad input never reaches PostgreSQL as a 500, on every route (issue 11)', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
  });
  after(() => api.close());

  const v4 = () => randomUUID();
  const urn = (id: string) => `urn:uuid:${id}`;
  const expectProblem = (res: ApiResponse, status: number, slug: string, where?: { parameter?: string; pointer?: string }) => {
    expect(res.status, JSON.stringify(res.body)).to.equal(status);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(res.body.type).to.equal(`/problems/${slug}`);
    if (where?.parameter !== undefined)
      expect(res.body.errors.map((e: { parameter?: string }) => e.parameter)).to.include(where.parameter);
    if (where?.pointer !== undefined)
      expect(res.body.errors.map((e: { pointer?: string }) => e.pointer)).to.include(where.pointer);
  };
  const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  /** An order in the read table only, with an id from last year: not "new", so nothing waits for it. */
  const viewOnlyOrder = async () => {
    const orderId = createUuidv7Generator()(Date.UTC(2025, 0, 15, 12));
    const customer = uniqueId('view-cust');
    await testPool().query(
      `INSERT INTO order_view (order_id, version, status, customer_id, created_at, updated_at, doc)
       VALUES ($1, 3, 'confirmed', $2, uuid7_time($1), uuid7_time($1), jsonb_build_object('order_id', $1::text, 'version', 3))`,
      [orderId, customer],
    );
    return { orderId, customer };
  };

  it('400 for an id in urn:uuid: form in any path, naming the parameter', async () => {
    const id = urn(createUuidv7Generator()());
    const cases: Array<[string, string, string, unknown?]> = [
      ['GET', `/api/v1/orders/${id}`, 'order_id'],
      ['GET', `/api/v1/orders/${id}/events`, 'order_id'],
      ['GET', `/api/v1/orders/${id}/invoices`, 'order_id'],
      ['GET', `/api/v1/invoices/${id}`, 'invoice_id'],
      ['GET', `/api/v1/carts/${id}`, 'cart_id'],
      ['POST', `/api/v1/orders/${id}/cancel`, 'order_id', {}],
      ['POST', `/api/v1/orders/${id}/refunds`, 'order_id', { amount: 1, reason: 'x' }],
      ['PATCH', `/api/v1/orders/${id}`, 'order_id', { shipping_address: testAddress }],
    ];
    for (const [method, path, parameter, body] of cases) {
      const res = await api.request(method, path, { body, headers: method === 'PATCH' ? { 'If-Match': '"1"' } : {} });
      expectProblem(res, 400, 'validation-error', { parameter });
    }
  });

  it('400 for an id in urn:uuid: form in any body, naming the field', async () => {
    const orderId = v4();
    const item = urn(v4());
    const placed = await api.post('/api/v1/orders', {
      ...orderBody(uniqueId('invalid'), []),
      items: undefined,
      cart_id: urn(v4()),
    });
    expectProblem(placed, 400, 'validation-error', { pointer: '/cart_id' });
    const refund = await api.post(`/api/v1/orders/${orderId}/refunds`, { items: [{ item_id: item, quantity: 1 }], reason: 'x' });
    expectProblem(refund, 400, 'validation-error', { pointer: '/items/0/item_id' });
    const edit = await api.patch(`/api/v1/orders/${orderId}`, { remove_items: [item] }, { 'If-Match': '"1"' });
    expectProblem(edit, 400, 'validation-error', { pointer: '/remove_items/0' });
  });

  it('takes upper-case hex ids and answers with the canonical lower-case id', async () => {
    const { orderId } = await viewOnlyOrder();
    const res = await api.get(`/api/v1/orders/${orderId.toUpperCase()}`);
    expect(res.status).to.equal(200);
    expect(res.body.order_id).to.equal(orderId);
    expect(res.headers.get('etag')).to.equal(`"${orderId}:3"`);
    const viaApp = await api.get(`/api/v1/orders/${orderId.toUpperCase()}?min_version=1`);
    expect(viaApp.status).to.equal(200);
    expect(viaApp.headers.get('etag')).to.equal(`"${orderId}:3"`);
  });

  it('answers 404 at once for an id that is no order, unless it is a UUIDv7 minted seconds ago', async () => {
    const notV7 = [v4(), createUuidv7Generator()(Date.UTC(2100, 0, 1)), '00000000-0000-0000-0000-000000000000'];
    for (const id of notV7) {
      for (const query of ['', '?min_version=3']) {
        const started = Date.now();
        const res = await api.get(`/api/v1/orders/${id}${query}`);
        expectProblem(res, 404, 'not-found');
        expect(Date.now() - started, id + query).to.be.below(1_000);
      }
    }
    // A brand-new UUIDv7 may name an order the projector has not reached yet: that one is waited for.
    const started = Date.now();
    expectProblem(await api.get(`/api/v1/orders/${createUuidv7Generator()()}`), 404, 'not-found');
    expect(Date.now() - started).to.be.at.least(1_500);
  });

  it('400 for a tampered pagination cursor on both listings', async () => {
    const { customer } = await viewOnlyOrder();
    const id = createUuidv7Generator()();
    const tampered = [
      cursorOf(['1', id]),
      cursorOf(['2026-02-30T00:00:00.000000Z', id]),
      cursorOf(['2026-06-30T23:59:60.000000Z', id]),
      cursorOf(['Tue, 1 Jan 2026', id]),
      cursorOf(['2026-01-01T00:00:00.000000Z', urn(id)]),
      cursorOf(['2026-01-01T00:00:00.000000Z', id, 'more']),
      cursorOf({ created_at: '2026-01-01T00:00:00.000000Z', order_id: id }),
      cursorOf(42),
      'not base64 at all!',
    ];
    for (const cursor of tampered) {
      for (const path of ['/api/v1/orders', `/api/v1/customers/${customer}/orders`]) {
        const res = await api.get(`${path}?cursor=${encodeURIComponent(cursor)}`);
        expectProblem(res, 400, 'validation-error', { parameter: 'cursor' });
      }
    }
    // A cursor the API gave out still works.
    const page = await api.get(`/api/v1/customers/${customer}/orders?limit=1`);
    expect(page.status).to.equal(200);
    const given = cursorOf(['2025-01-15T12:00:00.000000Z', id]);
    expect((await api.get(`/api/v1/orders?cursor=${given}`)).status).to.equal(200);
  });

  it('400 for an as_of with a leap second or a date PostgreSQL cannot take; 404 for a real moment', async () => {
    const { orderId } = await viewOnlyOrder();
    for (const asOf of [
      '2026-06-30T23:59:60Z',
      '2016-12-31T23:59:60Z',
      '0000-01-01T00:00:00Z',
      '2026-02-30T00:00:00Z',
      '2026-01-01',
    ]) {
      const res = await api.get(`/api/v1/orders/${orderId}?as_of=${encodeURIComponent(asOf)}`);
      expectProblem(res, 400, 'validation-error', { parameter: 'as_of' });
      expect(res.body.detail, asOf).to.match(/as_of/);
    }
    for (const asOf of [
      '2026-06-30T23:59:59Z',
      '2026-06-30t23:59:59.123456z',
      '2026-06-30T23:59:59+14:00',
      '0001-01-01T00:00:00Z',
    ]) {
      const res = await api.get(`/api/v1/orders/${orderId}?as_of=${encodeURIComponent(asOf)}`);
      expectProblem(res, 404, 'not-found');
    }
  });

  it('merges lines naming one SKU before checking the per-line cap (400 naming the SKU)', async () => {
    const { skus } = await createCatalog(testPool(), { prices: [1_000_000_000], stock: [[10]] });
    const sku = skus[0]!;
    const split = [
      { sku, quantity: 60_000 },
      { sku, quantity: 60_000 },
    ];
    const customer = uniqueId('invalid');
    const placed = await api.post('/api/v1/orders', orderBody(customer, split));
    expectProblem(placed, 400, 'validation-error', { pointer: '/items' });
    expect(placed.body.detail).to.include(sku);
    const many = Array.from({ length: 200 }, () => ({ sku, quantity: 100_000 }));
    expectProblem(await api.post('/api/v1/orders', orderBody(customer, many)), 400, 'validation-error', { pointer: '/items' });
    const cart = await api.post('/api/v1/carts', { customer_id: customer, channel: 'web', currency: 'USD', items: many });
    expectProblem(cart, 400, 'validation-error', { pointer: '/items' });
    const edit = await api.patch(`/api/v1/orders/${v4()}`, { add_items: split }, { 'If-Match': '"1"' });
    expectProblem(edit, 400, 'validation-error', { pointer: '/add_items' });
    const count = await testPool().query(`SELECT count(*)::int AS n FROM carts WHERE customer_id = $1`, [customer]);
    expect(count.rows[0].n).to.equal(0);
  });

  it('400 for text PostgreSQL cannot store (U+0000), wherever it is', async () => {
    const sku = uniqueId('SKU');
    const product = await api.put(`/api/v1/products/${sku}`, { name: 'mug\u0000', price: 100, currency: 'USD' });
    expectProblem(product, 400, 'validation-error', { pointer: '/name' });
    const order = await api.post('/api/v1/orders', {
      ...orderBody(uniqueId('invalid'), [{ sku, quantity: 1 }]),
      shipping_address: { ...testAddress, line2: 'flat\u00002' },
    });
    expectProblem(order, 400, 'validation-error', { pointer: '/shipping_address/line2' });
    expect((await testPool().query('SELECT 1 FROM products WHERE sku = $1', [sku])).rows).to.deep.equal([]);
  });

  it('400 for an If-Match that is not an entity tag; a well-formed tag is checked against the order (404 here)', async () => {
    for (const ifMatch of ['abc', '"unterminated', '"1" "2"', '*, "1"', 'W/ "1"']) {
      const res = await api.patch(`/api/v1/orders/${v4()}`, { shipping_address: testAddress }, { 'If-Match': ifMatch });
      expectProblem(res, 400, 'validation-error');
      expect(res.body.errors[0].header, ifMatch).to.equal('If-Match');
    }
    for (const ifMatch of ['"0"', '"abc"', 'W/"1"', '"1", "2"', '*', '0', '99999999999999999999']) {
      const res = await api.patch(`/api/v1/orders/${v4()}`, { shipping_address: testAddress }, { 'If-Match': ifMatch });
      expectProblem(res, 404, 'not-found');
    }
  });
});

describe('PostgreSQL data errors answer 400, never 500 (the backstop)', () => {
  const dataError = (code: string) => Object.assign(new Error(`invalid input (${code})`), { code, severity: 'ERROR' });
  const logger = createLogger('backstop-test', 'silent');
  const backstopPrincipal: Principal = {
    keyId: 'backstop',
    name: 'backstop',
    channel: null,
    scopes: ['admin'],
    rateLimit: undefined,
  };

  for (const code of ['22P02', '22007', '22008', '22003', '22001', '22021', '22023', '2201X', '22P05']) {
    it(`${code} from the database is a 400 problem on express and on the fast placement path`, async () => {
      const app = express();
      app.get('/boom', () => {
        throw dataError(code);
      });
      app.use(problemHandler(logger));
      const fast = createFastPlacement(() => Promise.reject(dataError(code)), logger);
      // The fast path takes only requests the API key gate admitted: a gate that knows one key.
      const keys = new ApiKeyCache(async (key) => (key === 'backstop-key' ? backstopPrincipal : undefined), 60_000);
      const server = await listen(
        guardApi((req, res) => (fast(req, res) ? undefined : app(req, res)), { keys, logger }),
        '127.0.0.1',
        0,
      );
      try {
        const viaExpress = await fetch(`http://127.0.0.1:${server.port}/boom`);
        const viaFast = await fetch(`http://127.0.0.1:${server.port}/api/v1/orders`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: 'Bearer backstop-key' },
          body: '{}',
        });
        for (const res of [viaExpress, viaFast]) {
          expect(res.status).to.equal(400);
          expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
          expect(((await res.json()) as { type: string }).type).to.equal('/problems/invalid-value');
        }
      } finally {
        await server.close();
      }
    });
  }

  it('a database error of another class is still a 500', async () => {
    const app = express();
    app.get('/boom', () => {
      throw dataError('40001');
    });
    app.use(problemHandler(logger));
    const server = await listen(app, '127.0.0.1', 0);
    try {
      expect((await fetch(`http://127.0.0.1:${server.port}/boom`)).status).to.equal(500);
    } finally {
      await server.close();
    }
  });
});
