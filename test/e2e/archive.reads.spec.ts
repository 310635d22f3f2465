import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUuidv7Generator } from '../../platform/ids.js';
import { main as archive } from '../../scripts/archive.js';
import { uniqueId } from '../support/env.js';
import { startTestSystem, type TestSystem } from '../support/system.js';

/**
 * The read API for an order of an archived month (docs/internals.md, "Retention and archives"): its
 * order, its events and `as_of` answer 410 `order-archived` naming the month and the restore command;
 * after a restore they answer exactly as before.
 */
describe('reads of an archived order: 410 order-archived, and the same answers after a restore', function () {
  this.timeout(120_000);
  let system: TestSystem;
  let dir: string;
  before(async () => {
    system = await startTestSystem();
    dir = await mkdtemp(join(tmpdir(), 'oms-archive-e2e-'));
  });
  after(async () => {
    await system.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers the order, its events and as_of with 410 naming the month, then as before once restored', async () => {
    // A real order's history and view, moved under an id of May 2019 (a month the retention lets go).
    const { skus } = await system.catalog({ prices: [700], stock: [[5]] });
    const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }]);
    const liveId = placed.body.order_id as string;
    await system.waitForFinalStatus(liveId);
    await system.get(`/api/v1/orders/${liveId}?min_version=5`);
    const orderId = createUuidv7Generator()(Date.UTC(2019, 4, 10, 12));
    const db = system.ownerPool;
    await db.query(`SELECT ensure_order_partitions('2019-05-01', 1)`);
    await db.query(
      `INSERT INTO orders (order_id, customer_id, channel, status, version, total_amount, currency, shipping_address, payment_method, created_at)
       SELECT $1::uuid, customer_id, channel, status, version, total_amount, currency, shipping_address, payment_method, uuid7_time($1::uuid)
         FROM orders WHERE order_id = $2`,
      [orderId, liveId],
    );
    await db.query(
      `INSERT INTO order_events (event_id, order_id, seq, type, payload, occurred_at)
       SELECT gen_random_uuid(), $1::uuid, seq, type, payload, occurred_at - (uuid7_time($2::uuid) - uuid7_time($1::uuid))
         FROM order_events WHERE order_id = $2 ORDER BY seq`,
      [orderId, liveId],
    );
    await db.query(
      `INSERT INTO order_view (order_id, version, status, customer_id, created_at, updated_at, doc)
       SELECT $1::uuid, version, status, customer_id, uuid7_time($1::uuid), updated_at, jsonb_set(doc, '{order_id}', to_jsonb($1::text))
         FROM order_view WHERE order_id = $2`,
      [orderId, liveId],
    );
    const asOf = '2019-05-31T00:00:00Z';
    const reads = [`/api/v1/orders/${orderId}`, `/api/v1/orders/${orderId}/events`, `/api/v1/orders/${orderId}?as_of=${asOf}`];
    const before = await Promise.all(reads.map((path) => system.get(path)));
    expect(before.map((r) => r.status)).to.deep.equal([200, 200, 200]);
    expect(before[1]!.body.events).to.have.length(5);
    expect(before[2]!.body).to.include({ order_id: orderId, status: 'confirmed' });

    const said: string[] = [];
    expect(
      await archive(['--before', '2019-06', '--dir', dir], (l) => said.push(l), { pool: db, config: system.config }),
    ).to.equal(0);
    expect(said.join('\n')).to.match(/2019-05: archived to .* 1 orders, 5 events/);

    for (const path of reads) {
      const answer = await system.get(path);
      expect(answer.status, path).to.equal(410);
      expect(answer.headers.get('content-type'), path).to.match(/^application\/problem\+json/);
      expect(answer.body, path).to.include({ type: '/problems/order-archived', status: 410, archived_month: '2019-05' });
      expect(answer.body.detail, path).to.contain('2019-05').and.contain('npm run archive -- restore 2019-05');
    }
    // An id of a month that was never archived is still simply not found.
    expect((await system.get(`/api/v1/orders/${createUuidv7Generator()(Date.UTC(2019, 6, 1))}/events`)).status).to.equal(404);

    expect(await archive(['restore', '2019-05', '--dir', dir], () => undefined, { pool: db, config: system.config })).to.equal(0);
    const after = await Promise.all(reads.map((path) => system.get(path)));
    expect(after.map((r) => r.status)).to.deep.equal([200, 200, 200]);
    expect(after.map((r) => r.body)).to.deep.equal(before.map((r) => r.body));
  });
});
