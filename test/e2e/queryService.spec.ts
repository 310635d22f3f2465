import { expect } from 'chai';
import { createUuidv7Generator } from '../../platform/ids.js';
import { uniqueId } from '../support/env.js';
import { bearer } from '../support/apiKeys.js';
import { eventTypes, startTestSystem, type TestSystem } from '../support/system.js';

describe('query service: reads from the read tables (contract §6, §2 min_version)', function () {
  this.timeout(60_000);
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem();
  });
  after(() => system.stop());

  it('reads an order right after placing it, and follows it to confirmed with version, ETag and 304', async () => {
    const { skus } = await system.catalog({ prices: [1200], stock: [[5]] });
    const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 2 }]);
    const orderId = placed.body.order_id as string;

    const first = await system.get(`/api/v1/orders/${orderId}?min_version=${placed.body.version}`);
    expect(first.status).to.equal(200);
    expect(first.body).to.include({ order_id: orderId, total_amount: 2400, currency: 'USD' });
    expect(first.body.version).to.be.at.least(1);

    await system.waitForFinalStatus(orderId);
    const final = await system.get(`/api/v1/orders/${orderId}?min_version=5`);
    expect(final.status).to.equal(200);
    expect(final.headers.get('projection-lag')).to.equal(null);
    expect(final.body).to.include({ status: 'confirmed', version: 5 });
    expect(final.body.items[0]).to.include({ sku: skus[0], quantity: 2, unit_price: 1200, status: 'reserved' });
    expect(final.body.payments[0]).to.include({ amount_authorized: 2400, status: 'authorized' });
    expect(final.body.saga).to.include({ status: 'completed', current_step: 'confirm_order' });

    const etag = final.headers.get('etag');
    expect(etag).to.be.a('string');
    const again = await fetch(`${system.queryUrl}/api/v1/orders/${orderId}`, {
      headers: { 'If-None-Match': etag!, ...bearer(system.adminKey) },
    });
    expect(again.status).to.equal(304);
  });

  it('answers an older order on the fast path with the same document, ETag and 304', async () => {
    const { skus } = await system.catalog({ prices: [100], stock: [[5]] });
    const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }]);
    await system.waitForFinalStatus(placed.body.order_id);
    const viaApp = await system.get(`/api/v1/orders/${placed.body.order_id}?min_version=5`);
    // The same document under an id from last year: no longer "new", so the plain read takes the fast path.
    const oldId = createUuidv7Generator()(Date.UTC(2025, 5, 1));
    await system.pool.query(
      `INSERT INTO order_view (order_id, version, status, customer_id, created_at, updated_at, doc)
       SELECT $1::uuid, version, status, customer_id, created_at, updated_at, jsonb_set(doc, '{order_id}', to_jsonb($1::text)) FROM order_view WHERE order_id = $2`,
      [oldId, placed.body.order_id],
    );
    const fast = await fetch(`${system.queryUrl}/api/v1/orders/${oldId}`, { headers: bearer(system.adminKey) });
    expect(fast.status).to.equal(200);
    expect(fast.headers.get('etag')).to.equal(`"${oldId}:5"`);
    expect(await fast.json()).to.deep.equal({ ...viaApp.body, order_id: oldId });
    const cached = await fetch(`${system.queryUrl}/api/v1/orders/${oldId}`, {
      headers: { 'If-None-Match': `"${oldId}:5"`, ...bearer(system.adminKey) },
    });
    expect(cached.status).to.equal(304);
    const missing = await fetch(`${system.queryUrl}/api/v1/orders/${createUuidv7Generator()(Date.UTC(2025, 5, 2))}`, {
      headers: bearer(system.adminKey),
    });
    expect(missing.status).to.equal(404);
    expect(missing.headers.get('content-type')).to.match(/problem\+json/);
  });

  it('waits for min_version, then answers with what it has and Projection-Lag', async () => {
    const { skus } = await system.catalog({ prices: [100], stock: [[5]] });
    const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }]);
    await system.waitForFinalStatus(placed.body.order_id);
    const started = Date.now();
    const res = await system.get(`/api/v1/orders/${placed.body.order_id}?min_version=50`);
    expect(Date.now() - started).to.be.at.least(1_900);
    expect(res.status).to.equal(200);
    expect(Number(res.headers.get('projection-lag'))).to.equal(50 - res.body.version);
  });

  it('answers 404 for an unknown order and 400 for a malformed id or query', async () => {
    const old = createUuidv7Generator()(Date.UTC(2020, 0, 1));
    const unknown = await system.get(`/api/v1/orders/${old}`);
    expect(unknown.status).to.equal(404);
    expect(unknown.body.type).to.match(/not-found$/);
    const malformed = await system.get('/api/v1/orders/not-an-id');
    expect(malformed.status).to.equal(400);
    expect(malformed.body.errors).to.deep.equal([
      {
        parameter: 'order_id',
        detail: 'must be a UUID: 8-4-4-4-12 hexadecimal digits, such as 0190a8e4-5c3b-7d2e-8f00-000000000001',
      },
    ]);
    expect((await system.get(`/api/v1/orders/${old}?min_version=abc`)).status).to.equal(400);
    expect((await system.get('/api/v1/orders?status=lost')).status).to.equal(400);
    expect((await system.get('/api/v1/customers/c1/orders?cursor=bogus')).status).to.equal(400);
  });

  it('pages through the event history oldest first', async () => {
    const { skus } = await system.catalog({ prices: [100], stock: [[5]] });
    const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }]);
    await system.waitForFinalStatus(placed.body.order_id);
    const page1 = await system.get(`/api/v1/orders/${placed.body.order_id}/events?limit=2`);
    expect(page1.body.events.map((e: { seq: number }) => e.seq)).to.deep.equal([1, 2]);
    expect(page1.body.events[0]).to.include({ type: 'order.placed' });
    expect(page1.body.next_after_seq).to.equal(2);
    const rest = await system.get(`/api/v1/orders/${placed.body.order_id}/events?after_seq=2`);
    expect(rest.body.events.map((e: { seq: number }) => e.seq)).to.deep.equal([3, 4, 5]);
    expect(rest.body.next_after_seq).to.equal(null);
  });

  it('pages a customer history newest first, every order exactly once, while new orders arrive', async () => {
    const { skus } = await system.catalog({ prices: [100], stock: [[100]] });
    const customer = uniqueId('hist');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await system.placeOrder(customer, [{ sku: skus[0]!, quantity: 1 }])).body.order_id);
    await Promise.all(ids.map((id) => system.get(`/api/v1/orders/${id}?min_version=1`)));

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await system.get(`/api/v1/customers/${customer}/orders?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).to.equal(200);
      seen.push(...res.body.orders.map((o: { order_id: string }) => o.order_id));
      cursor = res.body.next_cursor;
      pages++;
      // A new order arrives between pages; it is newer than every cursor, so no page shows it twice.
      if (pages === 1) {
        const late = await system.placeOrder(customer, [{ sku: skus[0]!, quantity: 1 }]);
        await system.get(`/api/v1/orders/${late.body.order_id}?min_version=1`);
      }
    } while (cursor !== null);
    expect(seen).to.deep.equal([...ids].reverse());
    expect(pages).to.equal(3);
  });

  it('lists orders by status', async () => {
    const { skus } = await system.catalog({ prices: [100], stock: [[5]] });
    const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }], {
      payment_method: { type: 'card', token: 'tok_chargeDeclined' },
    });
    await system.waitForFinalStatus(placed.body.order_id);
    const events = await eventTypes(system.pool, placed.body.order_id);
    expect((await system.get(`/api/v1/orders/${placed.body.order_id}?min_version=${events.length}`)).body.status).to.equal(
      'rejected',
    );
    const res = await system.get('/api/v1/orders?status=rejected&limit=200');
    expect(res.body.orders.map((o: { order_id: string }) => o.order_id)).to.include(placed.body.order_id);
    expect(res.body.orders.every((o: { status: string }) => o.status === 'rejected')).to.equal(true);
  });
});
