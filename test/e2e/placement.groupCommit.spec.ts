import { expect } from 'chai';
import { createCatalog, orderBody } from '../support/catalog.js';
import { startCommandApi, type ApiResponse, type TestApi } from '../support/commandApi.js';
import { testPool, uniqueId } from '../support/env.js';

/** How many orders a customer prefix has, and in how many transactions they were written. */
async function ordersOf(prefix: string): Promise<{ orders: number; transactions: number }> {
  const result = await testPool().query<{ orders: number; transactions: number }>(
    `SELECT count(*)::int AS orders, count(DISTINCT xmin::text)::int AS transactions FROM orders WHERE customer_id LIKE $1 || '%'`,
    [prefix],
  );
  return result.rows[0]!;
}

describe('group commit of placements (POST /api/v1/orders)', function () {
  this.timeout(60_000);
  let api: TestApi;
  let sku: string;
  let scarce: string;
  before(async () => {
    // A flush waits up to 50 ms for company, so the requests of one test land in the same few batches.
    api = await startCommandApi({}, { PLACEMENT_BATCH_WAIT_MS: '50', PLACEMENT_BATCH_MAX: '500' });
    [sku, scarce] = (await createCatalog(testPool(), { prices: [700, 900], stock: [[100_000, 1]] })).skus as [string, string];
  });
  after(() => api.close());

  it('places 200 concurrent orders with distinct keys as 200 orders, written in a few transactions', async () => {
    const prefix = uniqueId('gc');
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        api.post('/api/v1/orders', orderBody(`${prefix}-${i}`, [{ sku, quantity: 1 }]), { 'Idempotency-Key': `${prefix}-${i}` }),
      ),
    );
    expect(responses.map((r) => r.status)).to.deep.equal(responses.map(() => 202));
    expect(new Set(responses.map((r) => r.body.order_id)).size).to.equal(200);
    const written = await ordersOf(prefix);
    expect(written.orders).to.equal(200);
    expect(written.transactions).to.be.lessThan(20);

    // Every order has its saga, its event and its outbox row, and every key its stored answer.
    const ids = responses.map((r) => r.body.order_id as string);
    const rows = await testPool().query<{ sagas: number; events: number; outbox: number; keys: number }>(
      `SELECT (SELECT count(*) FROM sagas WHERE order_id = ANY($1::uuid[]))::int AS sagas,
              (SELECT count(*) FROM order_events WHERE order_id = ANY($1::uuid[]) AND seq = 1)::int AS events,
              (SELECT count(*) FROM outbox WHERE aggregateid = ANY($2::text[]))::int AS outbox,
              (SELECT count(*) FROM idempotency_keys WHERE idempotency_key LIKE $3 || '%' AND state = 'completed'
                  AND response_body->>'order_id' = ANY($2::text[]))::int AS keys`,
      [ids, ids, prefix],
    );
    expect(rows.rows[0]).to.deep.equal({ sagas: 200, events: 200, outbox: 200, keys: 200 });
    const replay = await api.post('/api/v1/orders', orderBody(`${prefix}-7`, [{ sku, quantity: 1 }]), {
      'Idempotency-Key': `${prefix}-7`,
    });
    expect(replay.headers.get('idempotent-replayed')).to.equal('true');
    expect(replay.body.order_id).to.equal(responses[7]!.body.order_id);
  });

  it('places 200 concurrent requests with the same key as one order', async () => {
    const customer = uniqueId('gc-same');
    const key = uniqueId('key');
    const body = orderBody(customer, [{ sku, quantity: 1 }]);
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => api.post('/api/v1/orders', body, { 'Idempotency-Key': key })),
    );
    const accepted = responses.filter((r) => r.status === 202);
    expect(responses.every((r) => r.status === 202 || r.status === 409)).to.equal(true);
    expect(accepted.length).to.be.at.least(1);
    expect(new Set(accepted.map((r) => r.body.order_id)).size).to.equal(1);
    expect((await ordersOf(customer)).orders).to.equal(1);
  });

  it('answers each bad order of a batch with its own problem and places the others', async () => {
    const prefix = uniqueId('gc-mixed');
    const taken = uniqueId('ext');
    const first = await api.post('/api/v1/orders', {
      ...orderBody(`${prefix}-first`, [{ sku, quantity: 1 }]),
      channel: 'marketplace',
      external_order_id: taken,
    });
    expect(first.status).to.equal(202);

    const inFlightKey = uniqueId('key');
    const requests: Array<{ name: string; send: () => Promise<ApiResponse> }> = [
      ...Array.from({ length: 20 }, (_, i) => ({
        name: `good-${i}`,
        send: () => api.post('/api/v1/orders', orderBody(`${prefix}-good-${i}`, [{ sku, quantity: 1 }])),
      })),
      {
        name: 'unknown-sku',
        send: () => api.post('/api/v1/orders', orderBody(`${prefix}-bad-sku`, [{ sku: uniqueId('NOPE'), quantity: 1 }])),
      },
      {
        name: 'taken-external-id',
        send: () =>
          api.post('/api/v1/orders', {
            ...orderBody(`${prefix}-bad-ext`, [{ sku, quantity: 1 }]),
            channel: 'marketplace',
            external_order_id: taken,
          }),
      },
      {
        name: 'same-external-id-twice-a',
        send: () =>
          api.post('/api/v1/orders', {
            ...orderBody(`${prefix}-twin-a`, [{ sku, quantity: 1 }]),
            channel: 'pos',
            external_order_id: `${taken}-twin`,
          }),
      },
      {
        name: 'same-external-id-twice-b',
        send: () =>
          api.post('/api/v1/orders', {
            ...orderBody(`${prefix}-twin-b`, [{ sku, quantity: 1 }]),
            channel: 'pos',
            external_order_id: `${taken}-twin`,
          }),
      },
      {
        name: 'no-stock',
        send: () => api.post('/api/v1/orders', orderBody(`${prefix}-bad-stock`, [{ sku: scarce, quantity: 5 }])),
      },
      {
        name: 'in-flight-key-a',
        send: () =>
          api.post('/api/v1/orders', orderBody(`${prefix}-key`, [{ sku, quantity: 1 }]), { 'Idempotency-Key': inFlightKey }),
      },
      {
        name: 'in-flight-key-b',
        send: () =>
          api.post('/api/v1/orders', orderBody(`${prefix}-key`, [{ sku, quantity: 1 }]), { 'Idempotency-Key': inFlightKey }),
      },
    ];
    const answers = new Map(await Promise.all(requests.map(async (r) => [r.name, await r.send()] as const)));

    for (let i = 0; i < 20; i++) expect(answers.get(`good-${i}`)!.status, `good-${i}`).to.equal(202);
    expect(answers.get('unknown-sku')!.status).to.equal(422);
    expect(answers.get('unknown-sku')!.body.type).to.match(/unknown-sku$/);
    expect(answers.get('taken-external-id')!.status).to.equal(409);
    expect(answers.get('taken-external-id')!.body.type).to.match(/duplicate-external-order-id$/);
    expect(answers.get('taken-external-id')!.body.order_id).to.equal(first.body.order_id);
    expect(
      [answers.get('same-external-id-twice-a')!.status, answers.get('same-external-id-twice-b')!.status].sort(),
    ).to.deep.equal([202, 409]);
    expect(answers.get('no-stock')!.status).to.equal(409);
    expect(answers.get('no-stock')!.body.type).to.match(/insufficient-stock$/);
    expect([answers.get('in-flight-key-a')!.status, answers.get('in-flight-key-b')!.status].sort()).to.deep.equal([202, 409]);

    // The good ones were written together, the bad ones not at all.
    const good = await ordersOf(`${prefix}-good-`);
    expect(good.orders).to.equal(20);
    expect(good.transactions).to.be.lessThan(5);
    expect((await ordersOf(`${prefix}-bad-`)).orders).to.equal(0);
    expect((await ordersOf(`${prefix}-twin-`)).orders).to.equal(1);
    expect((await ordersOf(`${prefix}-key`)).orders).to.equal(1);
  });
});
