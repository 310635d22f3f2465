import { expect } from 'chai';
import { createCatalog, orderBody } from '../support/catalog.js';
import { startCommandApi, type TestApi } from '../support/commandApi.js';
import { testPool, uniqueId } from '../support/env.js';

describe('Idempotency-Key on POST (contract §2)', () => {
  let api: TestApi;
  let sku: string;
  before(async () => {
    api = await startCommandApi();
    sku = (await createCatalog(testPool(), { prices: [1234], stock: [[1000]] })).skus[0]!;
  });
  after(() => api.close());

  const ordersOf = async (customer: string) =>
    (await testPool().query('SELECT count(*)::int AS n FROM orders WHERE customer_id = $1', [customer])).rows[0].n as number;

  it('replays the first response for the same key and body, with Idempotent-Replayed: true, and places one order', async () => {
    const key = uniqueId('key');
    const customer = uniqueId('cust');
    const body = orderBody(customer, [{ sku, quantity: 1 }]);
    const first = await api.post('/api/v1/orders', body, { 'Idempotency-Key': key });
    const second = await api.post('/api/v1/orders', body, { 'Idempotency-Key': key });

    expect(first.status).to.equal(202);
    expect(first.headers.get('idempotent-replayed')).to.equal(null);
    expect(second.status).to.equal(202);
    expect(second.headers.get('idempotent-replayed')).to.equal('true');
    expect(second.body).to.deep.equal(first.body);
    expect(second.headers.get('location')).to.equal(first.headers.get('location'));
    expect(await ordersOf(customer)).to.equal(1);
  });

  it('treats the same body with its keys in another order as the same request', async () => {
    const key = uniqueId('key');
    const customer = uniqueId('cust');
    const body = orderBody(customer, [{ sku, quantity: 1 }]);
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    await api.post('/api/v1/orders', body, { 'Idempotency-Key': key });
    const again = await api.post('/api/v1/orders', reordered, { 'Idempotency-Key': key });
    expect(again.headers.get('idempotent-replayed')).to.equal('true');
    expect(await ordersOf(customer)).to.equal(1);
  });

  it('answers 422 when the key is reused with a different body, and does nothing more', async () => {
    const key = uniqueId('key');
    const customer = uniqueId('cust');
    await api.post('/api/v1/orders', orderBody(customer, [{ sku, quantity: 1 }]), { 'Idempotency-Key': key });
    const reused = await api.post('/api/v1/orders', orderBody(customer, [{ sku, quantity: 2 }]), { 'Idempotency-Key': key });
    expect(reused.status).to.equal(422);
    expect(reused.body.type).to.match(/idempotency-key-reused$/);
    expect(await ordersOf(customer)).to.equal(1);
  });

  it('places exactly one order for 20 concurrent identical requests', async () => {
    const key = uniqueId('key');
    const customer = uniqueId('cust');
    const body = orderBody(customer, [{ sku, quantity: 1 }]);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => api.post('/api/v1/orders', body, { 'Idempotency-Key': key })),
    );

    const statuses = responses.map((r) => r.status);
    expect(
      statuses.every((s) => s === 202 || s === 409),
      statuses.join(','),
    ).to.equal(true);
    const accepted = responses.filter((r) => r.status === 202);
    expect(accepted.length).to.be.at.least(1);
    expect(new Set(accepted.map((r) => r.body.order_id)).size).to.equal(1);
    for (const conflict of responses.filter((r) => r.status === 409))
      expect(conflict.body.type).to.match(/idempotency-key-in-flight$/);
    expect(await ordersOf(customer)).to.equal(1);

    const after = await api.post('/api/v1/orders', body, { 'Idempotency-Key': key });
    expect(after.status).to.equal(202);
    expect(after.body.order_id).to.equal(accepted[0]!.body.order_id);
  });

  it('stores a refusal too: a retry hears the same 422 even after the catalog changed', async () => {
    const key = uniqueId('key');
    const missing = uniqueId('LATER');
    const body = orderBody(uniqueId('cust'), [{ sku: missing, quantity: 1 }]);
    const first = await api.post('/api/v1/orders', body, { 'Idempotency-Key': key });
    expect(first.status).to.equal(422);
    await createCatalogWithSku(missing);
    const second = await api.post('/api/v1/orders', body, { 'Idempotency-Key': key });
    expect(second.status).to.equal(422);
    expect(second.headers.get('idempotent-replayed')).to.equal('true');
    expect(second.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(second.body).to.deep.equal(first.body);
  });

  it('lets a request whose first attempt died in flight be retried after the lock timeout', async () => {
    const key = uniqueId('key');
    const customer = uniqueId('cust');
    const body = orderBody(customer, [{ sku, quantity: 1 }]);
    // What a crashed process leaves: an in-flight claim for this exact request, from long ago.
    const { requestFingerprint } = await import('../../platform/idempotency.js');
    await testPool().query(
      `INSERT INTO idempotency_keys (idempotency_key, fingerprint, method, path, state, locked_at, expires_at)
       VALUES ($1, $2, 'POST', '/api/v1/orders', 'in_flight', now() - interval '10 minutes', now() + interval '1 day')`,
      [key, requestFingerprint('POST', '/api/v1/orders', body)],
    );
    const retried = await api.post('/api/v1/orders', body, { 'Idempotency-Key': key });
    expect(retried.status).to.equal(202);
    expect(await ordersOf(customer)).to.equal(1);
  });

  it('refuses a malformed key naming the header', async () => {
    const res = await api.post('/api/v1/orders', orderBody(uniqueId('cust'), [{ sku, quantity: 1 }]), {
      'Idempotency-Key': 'x'.repeat(300),
    });
    expect(res.status).to.equal(400);
    expect(res.body.errors).to.deep.equal([{ header: 'Idempotency-Key', detail: 'must be 1 to 255 visible ASCII characters' }]);
  });

  async function createCatalogWithSku(skuName: string) {
    await testPool().query(`INSERT INTO products (sku, name, price, currency) VALUES ($1, 'late', 100, 'USD')`, [skuName]);
  }
});
