import { expect } from 'chai';
import { API_ROUTES, Scope, SCOPES, type ApiRoute } from '../../platform/access.js';
import { revokeApiKey } from '../../platform/apiKeys.js';
import { createUuidv7Generator } from '../../platform/ids.js';
import { bearer, createTestKey, samplePath } from '../support/apiKeys.js';
import { orderBody } from '../support/catalog.js';
import { eventually, testDatabaseUrl, uniqueId } from '../support/env.js';
import { startNode } from '../support/processes.js';
import { startTestSystem, type TestSystem } from '../support/system.js';

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers by field
  readonly body: any;
}

describe('API keys, scopes and channels (contract §8, issue 13)', function () {
  this.timeout(60_000);
  let system: TestSystem;
  let sku: string;
  before(async () => {
    system = await startTestSystem();
    sku = (await system.catalog({ prices: [1000], stock: [[1_000]] })).skus[0]!;
  });
  after(() => system.stop());

  /** A request as a client sends it, to whichever service the API front would send it, with exactly these headers. */
  async function call(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
    const response = await fetch(system.urlFor(method, path) + path, {
      method,
      headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON (an invoice rendered as HTML, say)
    }
    return { status: response.status, headers: response.headers, body: parsed };
  }

  /** Each route of the table with a body its method takes (a schema may refuse it: that is past the gate). */
  const requests = (route: ApiRoute) => ({
    path: samplePath(route.path),
    body: route.method === 'GET' || route.method === 'DELETE' ? undefined : {},
  });

  function expectUnauthenticated(answer: Answer, what: string) {
    expect(answer.status, what).to.equal(401);
    expect(answer.headers.get('www-authenticate'), what).to.match(/^Bearer/);
    expect(answer.headers.get('content-type'), what).to.match(/^application\/problem\+json/);
    expect(answer.body.type, what).to.equal('/problems/unauthenticated');
  }

  it('401 with WWW-Authenticate: Bearer on every route of the table without a key, with an unknown key and with a malformed header', async () => {
    for (const route of API_ROUTES) {
      const { path, body } = requests(route);
      const what = `${route.method} ${route.path}`;
      expectUnauthenticated(await call(route.method, path, {}, body), `${what} without a key`);
      expectUnauthenticated(await call(route.method, path, bearer('oms_no-such-key'), body), `${what} unknown key`);
      expectUnauthenticated(await call(route.method, path, { Authorization: 'Basic b21zOm9tcw==' }, body), `${what} Basic`);
    }
    // An undeclared path needs a key too; /health stays open.
    expectUnauthenticated(await call('GET', '/api/v1/nothing-here', {}), 'undeclared path');
    expect((await call('GET', '/health', {})).status).to.equal(200);
  });

  it('401 on every route with a revoked key (revoked through the admin API: at once in this process)', async () => {
    const { key, key_id } = await createTestKey(system.pool);
    expect((await call('GET', '/api/v1/orders?limit=1', bearer(key))).status).to.equal(200);
    const revoked = await call('DELETE', `/api/v1/admin/api-keys/${key_id}`, bearer(system.adminKey));
    expect(revoked.status).to.equal(200);
    expect(revoked.body.revoked_at).to.be.a('string');
    for (const route of API_ROUTES) {
      const { path, body } = requests(route);
      expectUnauthenticated(await call(route.method, path, bearer(key), body), `${route.method} ${route.path} revoked`);
    }
  });

  it('a key revoked elsewhere (another process, the CLI) is refused within API_KEY_CACHE_MS', async () => {
    const { key, key_id } = await createTestKey(system.pool, { scopes: [Scope.ordersRead] });
    expect((await call('GET', '/api/v1/orders?limit=1', bearer(key))).status).to.equal(200);
    await revokeApiKey(system.pool, key_id); // straight in the database: this process's cache still knows the key
    const revokedAt = Date.now();
    await eventually(
      'the revoked key refused',
      async () => ((await call('GET', '/api/v1/orders?limit=1', bearer(key))).status === 401 ? true : undefined),
      system.config.apiKeyCacheMs + 2_000,
    );
    expect(Date.now() - revokedAt).to.be.at.most(system.config.apiKeyCacheMs + 2_000);
  });

  it('each scope allows exactly its routes (403 insufficient-scope elsewhere); admin allows every route', async () => {
    for (const scope of SCOPES) {
      const { key } = await createTestKey(system.pool, { scopes: [scope] });
      for (const route of API_ROUTES) {
        const { path, body } = requests(route);
        const answer = await call(route.method, path, bearer(key), body);
        const what = `${scope} → ${route.method} ${route.path}: ${answer.status} ${JSON.stringify(answer.body)}`;
        expect(answer.status, what).to.not.equal(401);
        expect(answer.status, what).to.be.below(500);
        if (scope === route.scope || scope === Scope.admin) expect(answer.status, what).to.not.equal(403);
        else {
          expect(answer.status, what).to.equal(403);
          expect(answer.body.type, what).to.equal('/problems/insufficient-scope');
          expect(answer.headers.get('content-type'), what).to.match(/^application\/problem\+json/);
        }
      }
    }
  });

  it('creates a key shown once, lists keys without secrets, and refuses bad key requests with 400', async () => {
    const admin = bearer(system.adminKey);
    const created = await call('POST', '/api/v1/admin/api-keys', admin, {
      name: 'pos fleet',
      channel: 'pos',
      scopes: ['orders:write', 'orders:read'],
      rate_limit: { per_second: 5, burst: 10 },
    });
    expect(created.status).to.equal(201);
    expect(created.body).to.include({ name: 'pos fleet', channel: 'pos' });
    expect(created.body.scopes).to.deep.equal(['orders:write', 'orders:read']);
    expect(created.body.key).to.match(/^oms_[A-Za-z0-9_-]{43}$/);
    const stored = await system.pool.query('SELECT key_hash FROM api_keys WHERE key_id = $1', [created.body.key_id]);
    expect(stored.rows[0].key_hash)
      .to.match(/^[0-9a-f]{64}$/)
      .and.not.equal(created.body.key);

    const listed = await call('GET', '/api/v1/admin/api-keys', admin);
    expect(listed.status).to.equal(200);
    const mine = (listed.body.api_keys as Array<Record<string, unknown>>).find((k) => k.key_id === created.body.key_id);
    expect(mine).to.include({ name: 'pos fleet', channel: 'pos' });
    expect(mine).to.not.have.property('key');
    expect(JSON.stringify(listed.body)).to.not.contain(created.body.key);

    for (const bad of [
      {},
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['orders:delete'] },
      { name: 'x', scopes: ['admin'], channel: 'fax' },
      { name: 'x', scopes: ['admin'], rate_limit: { per_second: 0, burst: 1 } },
    ]) {
      const refused = await call('POST', '/api/v1/admin/api-keys', admin, bad);
      expect(refused.status, JSON.stringify(bad)).to.equal(400);
      expect(refused.headers.get('content-type')).to.match(/^application\/problem\+json/);
    }
    expect((await call('DELETE', '/api/v1/admin/api-keys/not-a-uuid', admin)).status).to.equal(400);
    expect((await call('DELETE', `/api/v1/admin/api-keys/${createUuidv7Generator()(Date.now())}`, admin)).status).to.equal(404);
  });

  it('npm run keys: create prints the key once, list shows it without the secret, revoke refuses it', async () => {
    const run = async (...args: string[]) => {
      const child = startNode(
        'dist/scripts/keys.js',
        { DATABASE_URL: testDatabaseUrl, DATABASE_SCHEMA: system.schema, LOG_LEVEL: 'silent' },
        { args },
      );
      const code = await child.exited;
      return { code, out: child.lines.map(String).join('\n') };
    };
    const name = uniqueId('cli-key');
    const created = await run(
      'create',
      '--name',
      name,
      '--channel',
      'pos',
      '--scopes',
      'orders:write,orders:read',
      '--rate',
      '5/10',
    );
    expect(created.code, created.out).to.equal(0);
    const key = /key \(shown this once\): (oms_\S+)/.exec(created.out)?.[1];
    const keyId = new RegExp(`created (\\S+) .*${name}`).exec(created.out)?.[1];
    expect(key, created.out).to.be.a('string');
    expect((await call('GET', '/api/v1/orders?limit=1', bearer(key!))).status).to.equal(200);

    const listed = await run('list');
    expect(listed.code).to.equal(0);
    expect(listed.out).to.contain(name).and.contain('channel pos').and.contain('5/s burst 10').and.not.contain(key!);

    const revoked = await run('revoke', keyId!);
    expect(revoked.code, revoked.out).to.equal(0);
    expect(revoked.out).to.match(/revoked .*REVOKED/);
    await eventually(
      'the CLI-revoked key refused',
      async () => ((await call('GET', '/api/v1/orders?limit=1', bearer(key!))).status === 401 ? true : undefined),
      system.config.apiKeyCacheMs + 2_000,
    );
    expect((await run('create', '--name', 'x', '--scopes', 'orders:delete')).code).to.equal(2);
    expect((await run('revoke', 'not-a-uuid')).code).to.equal(2);
  });

  /** An order request that names no channel. */
  const withoutChannel = (customer: string): Record<string, unknown> => {
    const body: Record<string, unknown> = { ...orderBody(customer, [{ sku, quantity: 1 }]) };
    delete body.channel;
    return body;
  };

  it('429 with Retry-After and the RateLimit headers once a key spends its burst; another key and admin keys are unaffected', async () => {
    const limited = (
      await createTestKey(system.pool, {
        channel: 'web',
        scopes: [Scope.ordersRead, Scope.ordersWrite],
        rateLimit: { perSecond: 1, burst: 3 },
      })
    ).key;
    const neighbour = (
      await createTestKey(system.pool, { channel: 'web', scopes: [Scope.ordersRead], rateLimit: { perSecond: 1, burst: 3 } })
    ).key;
    const path = '/api/v1/orders?limit=1';
    for (let i = 0; i < 3; i++) {
      const ok = await call('GET', path, bearer(limited));
      expect(ok.status).to.equal(200);
      expect(ok.headers.get('ratelimit-policy')).to.equal('"per-key";q=3;w=3');
      expect(ok.headers.get('ratelimit')).to.match(new RegExp(`^"per-key";r=${2 - i};t=\\d+$`));
    }
    const refused = await call('GET', path, bearer(limited));
    expect(refused.status).to.equal(429);
    expect(refused.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(refused.body.type).to.equal('/problems/rate-limited');
    expect(Number(refused.headers.get('retry-after'))).to.be.within(1, 2);
    expect(refused.headers.get('ratelimit-policy')).to.equal('"per-key";q=3;w=3');
    expect(refused.headers.get('ratelimit')).to.match(/^"per-key";r=0;t=[12]$/);
    // The fast placement path takes from the same bucket.
    const placement = await call('POST', '/api/v1/orders', bearer(limited), orderBody(uniqueId('cust'), [{ sku, quantity: 1 }]));
    expect(placement.status).to.equal(429);

    expect((await call('GET', path, bearer(neighbour))).status).to.equal(200);
    for (let i = 0; i < 10; i++) {
      const admin = await call('GET', path, bearer(system.adminKey));
      expect(admin.status).to.equal(200);
      expect(admin.headers.get('ratelimit')).to.equal(null);
    }
    // One token a second: the key is served again after its Retry-After.
    await eventually(
      'the limited key served again',
      async () => ((await call('GET', path, bearer(limited))).status === 200 ? true : undefined),
      3_000,
      200,
    );
  });

  describe('channels', () => {
    let web: string;
    let mobile: string;
    before(async () => {
      const scopes = [Scope.ordersWrite, Scope.ordersRead, Scope.refundsWrite];
      web = (await createTestKey(system.pool, { channel: 'web', scopes })).key;
      mobile = (await createTestKey(system.pool, { channel: 'mobile', scopes })).key;
    });

    const place = (key: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) => {
      return call('POST', '/api/v1/orders', { ...bearer(key), ...headers }, { ...withoutChannel(uniqueId('cust')), ...extra });
    };

    it("a channel's key places in its own channel (omitted channel → the key's) and not in another (403, nothing placed)", async () => {
      const omitted = await place(web);
      expect(omitted.status, JSON.stringify(omitted.body)).to.equal(202);
      expect(omitted.body.channel).to.equal('web');
      const named = await place(web, { channel: 'web' });
      expect(named.status).to.equal(202);

      const customer = uniqueId('cust');
      const other = await call(
        'POST',
        '/api/v1/orders',
        bearer(web),
        orderBody(customer, [{ sku, quantity: 1 }], { channel: 'pos' }),
      );
      expect(other.status).to.equal(403);
      expect(other.body.type).to.equal('/problems/channel-forbidden');
      const written = await system.pool.query('SELECT count(*)::int AS n FROM orders WHERE customer_id = $1', [customer]);
      expect(written.rows[0].n).to.equal(0);

      // A back-office key names any channel, and must name one.
      const backOffice = await call(
        'POST',
        '/api/v1/orders',
        bearer(system.adminKey),
        orderBody(uniqueId('c'), [{ sku, quantity: 1 }], { channel: 'pos' }),
      );
      expect(backOffice.status).to.equal(202);
      expect((await call('POST', '/api/v1/orders', bearer(system.adminKey), withoutChannel(uniqueId('c')))).status).to.equal(400);
    });

    it("carts: a channel's key makes carts in its channel only, and another channel's cart is 404", async () => {
      const cart = { customer_id: uniqueId('cust'), currency: 'USD', items: [{ sku, quantity: 1 }] };
      const made = await call('POST', '/api/v1/carts', bearer(web), cart);
      expect(made.status, JSON.stringify(made.body)).to.equal(201);
      expect(made.body.channel).to.equal('web');
      expect((await call('POST', '/api/v1/carts', bearer(web), { ...cart, channel: 'mobile' })).status).to.equal(403);
      const path = `/api/v1/carts/${made.body.cart_id}`;
      expect((await call('GET', path, bearer(web))).status).to.equal(200);
      expect((await call('GET', path, bearer(system.adminKey))).status).to.equal(200);
      expect((await call('GET', path, bearer(mobile))).status).to.equal(404);
      // Nor can another channel place an order from it.
      const order: Record<string, unknown> = { ...withoutChannel(cart.customer_id), cart_id: made.body.cart_id };
      delete order.items;
      const fromOtherChannel = await call('POST', '/api/v1/orders', bearer(mobile), order);
      expect(fromOtherChannel.status).to.equal(422);
      expect(fromOtherChannel.body.type).to.equal('/problems/cart-not-found');
      expect((await call('POST', '/api/v1/orders', bearer(web), order)).status).to.equal(202);
    });

    it("another channel's order is 404 on every read and change; its own channel and a back-office key see it", async () => {
      const customer = uniqueId('cust');
      const placed = await call('POST', '/api/v1/orders', bearer(web), orderBody(customer, [{ sku, quantity: 1 }]));
      expect(placed.status).to.equal(202);
      const id = placed.body.order_id as string;
      await system.waitForFinalStatus(id);
      await eventually('the order projected', async () =>
        (await call('GET', `/api/v1/orders/${id}?min_version=5`, bearer(web))).status === 200 ? true : undefined,
      );

      for (const path of [`/api/v1/orders/${id}`, `/api/v1/orders/${id}/events`, `/api/v1/orders/${id}/invoices`]) {
        expect((await call('GET', path, bearer(web))).status, `web ${path}`).to.equal(200);
        expect((await call('GET', path, bearer(system.adminKey))).status, `admin ${path}`).to.equal(200);
        const hidden = await call('GET', path, bearer(mobile));
        expect(hidden.status, `mobile ${path}`).to.equal(404);
        expect(hidden.body.type).to.equal('/problems/not-found');
      }
      expect((await call('GET', `/api/v1/orders/${id}?as_of=${new Date().toISOString()}`, bearer(mobile))).status).to.equal(404);

      // An invoice of the order (written as the fulfillment worker would): readable by its channel only.
      const invoiceId = createUuidv7Generator()(Date.now());
      const number = uniqueId('INV');
      await system.pool.query(
        `INSERT INTO invoices (invoice_id, number, year, seq, order_id, currency, total, document, issued_at)
         VALUES ($1, $2, 2026, (SELECT coalesce(max(seq), 0) + 1 FROM invoices WHERE year = 2026 AND kind = 'invoice'), $3, 'USD', 1000, $4, now())`,
        [invoiceId, number, id, JSON.stringify({ invoice_id: invoiceId, number, order_id: id })],
      );
      expect((await call('GET', `/api/v1/invoices/${invoiceId}`, bearer(web))).status).to.equal(200);
      expect((await call('GET', `/api/v1/invoices/${invoiceId}`, bearer(system.adminKey))).status).to.equal(200);
      expect((await call('GET', `/api/v1/invoices/${invoiceId}`, bearer(mobile))).status).to.equal(404);

      const listed = async (key: string, path: string) =>
        ((await call('GET', path, bearer(key))).body.orders as Array<{ order_id: string }>).map((o) => o.order_id);
      expect(await listed(web, `/api/v1/customers/${customer}/orders`)).to.deep.equal([id]);
      expect(await listed(mobile, `/api/v1/customers/${customer}/orders`)).to.deep.equal([]);
      expect(await listed(system.adminKey, `/api/v1/customers/${customer}/orders`)).to.deep.equal([id]);
      expect(await listed(web, '/api/v1/orders?limit=200')).to.include(id);
      expect(await listed(mobile, '/api/v1/orders?limit=200')).to.not.include(id);

      const cancel = await call('POST', `/api/v1/orders/${id}/cancel`, bearer(mobile), {});
      expect(cancel.status).to.equal(404);
      const refund = await call('POST', `/api/v1/orders/${id}/refunds`, bearer(mobile), { amount: 100, reason: 'test' });
      expect(refund.status).to.equal(404);
      const edit = await call(
        'PATCH',
        `/api/v1/orders/${id}`,
        { ...bearer(mobile), 'If-Match': '"5"' },
        { shipping_address: orderBody('x', []).shipping_address },
      );
      expect(edit.status).to.equal(404);
      const status = await system.pool.query<{ status: string }>('SELECT status::text FROM orders WHERE order_id = $1', [id]);
      expect(status.rows[0]?.status).to.equal('confirmed');
    });

    it('the fast order read (an older order, no query) answers another channel 404 and its own 200', async () => {
      const placed = await call('POST', '/api/v1/orders', bearer(web), orderBody(uniqueId('cust'), [{ sku, quantity: 1 }]));
      await system.waitForFinalStatus(placed.body.order_id);
      await eventually('projected', async () =>
        (await call('GET', `/api/v1/orders/${placed.body.order_id}?min_version=5`, bearer(web))).status === 200
          ? true
          : undefined,
      );
      // The same document under an id from last year: not "new", so a plain read takes the fast path.
      const oldId = createUuidv7Generator()(Date.UTC(2025, 4, 1));
      await system.pool.query(
        `INSERT INTO order_view (order_id, version, status, customer_id, created_at, updated_at, doc)
         SELECT $1::uuid, version, status, customer_id, created_at, updated_at, jsonb_set(doc, '{order_id}', to_jsonb($1::text)) FROM order_view WHERE order_id = $2`,
        [oldId, placed.body.order_id],
      );
      const path = `/api/v1/orders/${oldId}`;
      expect((await call('GET', path, bearer(web))).status).to.equal(200);
      expect((await call('GET', path, bearer(system.adminKey))).status).to.equal(200);
      expect((await call('GET', path, bearer(mobile))).status).to.equal(404);
      expectUnauthenticated(await call('GET', path, {}), 'fast read without a key');
    });

    it('the fast placement path refuses no key (401), a key without orders:write (403) and another channel (403), placing nothing', async () => {
      const readOnly = (await createTestKey(system.pool, { channel: 'web', scopes: [Scope.ordersRead] })).key;
      const customer = uniqueId('cust');
      const body = JSON.stringify(orderBody(customer, [{ sku, quantity: 1 }]));
      // A JSON body of a declared length: the shape the node:http fast path takes.
      const post = (headers: Record<string, string>) =>
        fetch(`${system.commandUrl}/api/v1/orders`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)), ...headers },
          body,
        });
      expect((await post({})).status).to.equal(401);
      expect((await post(bearer('oms_unknown'))).status).to.equal(401);
      expect((await post(bearer(readOnly))).status).to.equal(403);
      expect((await post(bearer(mobile))).status).to.equal(403);
      const written = await system.pool.query('SELECT count(*)::int AS n FROM orders WHERE customer_id = $1', [customer]);
      expect(written.rows[0].n).to.equal(0);
      expect((await post(bearer(web))).status).to.equal(202);
    });
  });

  it('the same Idempotency-Key from two clients places two orders; from one client, one', async () => {
    const first = (await createTestKey(system.pool, { channel: 'web', scopes: [Scope.ordersWrite] })).key;
    const second = (await createTestKey(system.pool, { channel: 'web', scopes: [Scope.ordersWrite] })).key;
    const idempotencyKey = uniqueId('idem');
    const customer = uniqueId('cust');
    const body = orderBody(customer, [{ sku, quantity: 1 }]);
    const send = (key: string) => call('POST', '/api/v1/orders', { ...bearer(key), 'Idempotency-Key': idempotencyKey }, body);
    const [a, b] = await Promise.all([send(first), send(second)]);
    expect([a.status, b.status]).to.deep.equal([202, 202]);
    expect(a.body.order_id).to.not.equal(b.body.order_id);
    expect(a.headers.get('idempotent-replayed')).to.equal(null);
    expect(b.headers.get('idempotent-replayed')).to.equal(null);

    const again = await send(first);
    expect(again.status).to.equal(202);
    expect(again.headers.get('idempotent-replayed')).to.equal('true');
    expect(again.body.order_id).to.equal(a.body.order_id);
    const written = await system.pool.query('SELECT count(*)::int AS n FROM orders WHERE customer_id = $1', [customer]);
    expect(written.rows[0].n).to.equal(2);

    // Each client's key is kept apart: two rows, one per client.
    const keys = await system.pool.query(
      'SELECT count(DISTINCT scope)::int AS n FROM idempotency_keys WHERE idempotency_key = $1',
      [idempotencyKey],
    );
    expect(keys.rows[0].n).to.equal(2);
  });
});
