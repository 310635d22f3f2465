import { expect } from 'chai';
import { isUuidv7 } from '../../platform/ids.js';
import { createCatalog, orderBody, testAddress } from '../support/catalog.js';
import { startCommandApi, type TestApi } from '../support/commandApi.js';
import { testPool, uniqueId } from '../support/env.js';

async function countRows(orderId: string) {
  const result = await testPool().query<{ orders: number; items: number; sagas: number; events: number; outbox: number }>(
    `SELECT (SELECT count(*) FROM orders WHERE order_id = $1)::int AS orders,
            (SELECT count(*) FROM order_items WHERE order_id = $1)::int AS items,
            (SELECT count(*) FROM sagas WHERE order_id = $1)::int AS sagas,
            (SELECT count(*) FROM order_events WHERE order_id = $1)::int AS events,
            (SELECT count(*) FROM outbox WHERE aggregateid = $1::text)::int AS outbox`,
    [orderId],
  );
  return result.rows[0];
}

describe('placing orders (POST /api/v1/orders)', () => {
  let api: TestApi;
  before(async () => {
    api = await startCommandApi();
  });
  after(() => api.close());

  it('given stock, answers 202 with the order, its saga, and a Location, all priced by the server', async () => {
    const { skus } = await createCatalog(testPool(), { prices: [1999, 500], stock: [[10, 10]] });
    const customer = uniqueId('cust');
    const res = await api.post(
      '/api/v1/orders',
      orderBody(customer, [
        { sku: skus[0]!, quantity: 2 },
        { sku: skus[1]!, quantity: 3 },
      ]),
    );

    expect(res.status).to.equal(202);
    expect(res.body).to.include({
      status: 'placed',
      version: 1,
      total_amount: 2 * 1999 + 3 * 500,
      currency: 'USD',
      customer_id: customer,
    });
    expect(isUuidv7(res.body.order_id)).to.equal(true);
    expect(res.headers.get('location')).to.equal(`/api/v1/orders/${res.body.order_id}`);
    expect(res.body.saga).to.include({ status: 'running', current_step: 'reserve_inventory' });
    expect(isUuidv7(res.body.saga.saga_id)).to.equal(true);
    expect(res.body.items.map((i: { unit_price: number }) => i.unit_price)).to.deep.equal([1999, 500]);

    expect(await countRows(res.body.order_id)).to.deep.equal({ orders: 1, items: 2, sagas: 1, events: 1, outbox: 1 });
    const event = await testPool().query('SELECT seq, type, payload FROM order_events WHERE order_id = $1', [res.body.order_id]);
    expect(event.rows[0]).to.include({ seq: 1, type: 'order.placed' });
    expect(JSON.stringify(event.rows[0].payload)).not.to.contain('tok_visa');
  });

  it('ignores prices a client sends: the schema refuses them', async () => {
    const { skus } = await createCatalog(testPool(), { prices: [1000], stock: [[5]] });
    const res = await api.post('/api/v1/orders', {
      ...orderBody(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }]),
      total_amount: 1,
    });
    expect(res.status).to.equal(400);
    expect(res.body.errors).to.deep.include({ pointer: '/total_amount', detail: 'is not a known field' });
  });

  it('refuses an unknown SKU with 422 unknown-sku and writes nothing', async () => {
    const customer = uniqueId('cust');
    const missing = uniqueId('NOPE');
    const res = await api.post('/api/v1/orders', orderBody(customer, [{ sku: missing, quantity: 1 }]));
    expect(res.status).to.equal(422);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(res.body.type).to.match(/unknown-sku$/);
    expect(res.body.skus).to.deep.equal([missing]);
    const orders = await testPool().query('SELECT count(*)::int AS n FROM orders WHERE customer_id = $1', [customer]);
    expect(orders.rows[0].n).to.equal(0);
  });

  it('refuses an order no stock anywhere could fill with 409 insufficient-stock', async () => {
    const { skus } = await createCatalog(testPool(), { prices: [100], stock: [[2], [1]] });
    const res = await api.post('/api/v1/orders', orderBody(uniqueId('cust'), [{ sku: skus[0]!, quantity: 4 }]));
    expect(res.status).to.equal(409);
    expect(res.body.type).to.match(/insufficient-stock$/);
    expect(res.body.shortages).to.deep.equal([{ sku: skus[0], requested: 4, available: 3 }]);
  });

  it('places an order from a cart, and the same cart cannot be ordered twice', async () => {
    const { skus } = await createCatalog(testPool(), { prices: [250, 900], stock: [[10, 10]] });
    const customer = uniqueId('cust');
    const cart = await api.post('/api/v1/carts', {
      customer_id: customer,
      channel: 'mobile',
      currency: 'USD',
      items: [
        { sku: skus[0], quantity: 2 },
        { sku: skus[1], quantity: 1 },
      ],
    });
    expect(cart.status).to.equal(201);
    expect(cart.body).to.include({ total_amount: 1400, status: 'open' });

    const body = {
      cart_id: cart.body.cart_id,
      customer_id: customer,
      channel: 'mobile',
      shipping_address: testAddress,
      payment_method: { type: 'card', token: 'tok_visa' },
    };
    const placed = await api.post('/api/v1/orders', body);
    expect(placed.status).to.equal(202);
    expect(placed.body.total_amount).to.equal(1400);

    const again = await api.post('/api/v1/orders', body);
    expect(again.status).to.equal(409);
    expect(again.body.type).to.match(/cart-already-ordered$/);
    expect(again.body.order_id).to.equal(placed.body.order_id);

    const other = await api.post('/api/v1/orders', { ...body, customer_id: uniqueId('cust') });
    expect(other.status).to.be.oneOf([409, 422]);
  });

  it('needs exactly one of cart_id and items', async () => {
    const both = await api.post('/api/v1/orders', {
      ...orderBody(uniqueId('cust'), [{ sku: 'X', quantity: 1 }]),
      cart_id: '01a21955-806f-70ab-adbe-14349d2afa21',
    });
    expect(both.status).to.equal(400);
    const neither = await api.post('/api/v1/orders', { ...orderBody(uniqueId('cust'), []), items: undefined });
    expect(neither.status).to.equal(400);
    expect(neither.body.errors[0].pointer).to.equal('/items');
  });

  it('keeps external_order_id unique per channel, and free across channels', async () => {
    const { skus } = await createCatalog(testPool(), { prices: [100], stock: [[10]] });
    const ref = uniqueId('EXT');
    const line = [{ sku: skus[0]!, quantity: 1 }];
    const first = await api.post(
      '/api/v1/orders',
      orderBody(uniqueId('cust'), line, { channel: 'marketplace', external_order_id: ref }),
    );
    expect(first.status).to.equal(202);
    const dup = await api.post(
      '/api/v1/orders',
      orderBody(uniqueId('cust'), line, { channel: 'marketplace', external_order_id: ref }),
    );
    expect(dup.status).to.equal(409);
    expect(dup.body.type).to.match(/duplicate-external-order-id$/);
    expect(dup.body.order_id).to.equal(first.body.order_id);
    const pos = await api.post('/api/v1/orders', orderBody(uniqueId('cust'), line, { channel: 'pos', external_order_id: ref }));
    expect(pos.status).to.equal(202);
  });

  it('leaves nothing behind when the transaction fails after the order insert', async () => {
    const pool = testPool();
    const { skus } = await createCatalog(pool, { prices: [100], stock: [[10]] });
    const customer = uniqueId('doomed');
    // A real fault inside PostgreSQL: the outbox insert (the transaction's last write) fails for this customer.
    const fn = `fail_outbox_${customer.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`;
    await pool.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.payload->'payload'->>'customer_id' = '${customer}' THEN RAISE EXCEPTION 'injected outbox failure'; END IF;
        RETURN NEW;
      END $$`);
    await pool.query(`CREATE TRIGGER ${fn} BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
    try {
      const res = await api.post('/api/v1/orders', orderBody(customer, [{ sku: skus[0]!, quantity: 1 }]), {
        'Idempotency-Key': uniqueId('key'),
      });
      expect(res.status).to.equal(500);
      expect(res.body.type).to.match(/internal-error$/);
    } finally {
      await pool.query(`DROP TRIGGER ${fn} ON outbox`);
      await pool.query(`DROP FUNCTION ${fn}()`);
    }
    const left = await pool.query(
      `SELECT (SELECT count(*) FROM orders WHERE customer_id = $1)::int AS orders,
              (SELECT count(*) FROM sagas s WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = s.order_id))::int AS orphan_sagas,
              (SELECT count(*) FROM order_events WHERE payload->>'customer_id' = $1)::int AS events,
              (SELECT count(*) FROM outbox WHERE payload->'payload'->>'customer_id' = $1)::int AS outbox,
              (SELECT count(*) FROM order_items i JOIN orders o USING (order_id) WHERE o.customer_id = $1)::int AS items`,
      [customer],
    );
    expect(left.rows[0]).to.deep.equal({ orders: 0, orphan_sagas: 0, events: 0, outbox: 0, items: 0 });
  });
});
