import { expect } from 'chai';
import { rebuild, verify } from '../../scripts/replay.js';
import { uniqueId } from '../support/env.js';
import { eventTypes, startTestSystem, type TestSystem } from '../support/system.js';

describe('replay tool: rebuild, verify and as-of from the event log', function () {
  this.timeout(90_000);
  let system: TestSystem;
  const orderIds: string[] = [];
  const lines: string[] = [];
  const say = (line: string) => lines.push(line);

  before(async () => {
    system = await startTestSystem();
    const { skus } = await system.catalog({ prices: [300, 700], stock: [[50, 50]] });
    const tokens = ['tok_visa', 'tok_chargeDeclined', 'tok_riskLevelHighest', 'tok_mastercard'];
    for (let i = 0; i < 8; i++) {
      const placed = await system.placeOrder(uniqueId('replay'), [{ sku: skus[i % 2]!, quantity: 1 + (i % 3) }], {
        payment_method: { type: 'card', token: tokens[i % tokens.length] },
      });
      orderIds.push(placed.body.order_id);
    }
    for (const id of orderIds) {
      await system.waitForFinalStatus(id);
      const events = await eventTypes(system.pool, id);
      await system.get(`/api/v1/orders/${id}?min_version=${events.length}`);
    }
  });
  after(() => system.stop());

  const view = async (id: string) =>
    (await system.pool.query('SELECT doc FROM order_view WHERE order_id = $1', [id])).rows[0]?.doc;

  it('verify finds the live view equal to the events folded aside', async () => {
    lines.length = 0;
    expect(await verify(system.ownerPool, say)).to.equal(0);
    expect(lines.at(-1)).to.equal('order_view matches the event log');
  });

  it('verify reports a read row tampered with by hand', async () => {
    const victim = orderIds[0]!;
    await system.pool.query(`UPDATE order_view SET doc = jsonb_set(doc, '{total_amount}', '1') WHERE order_id = $1`, [victim]);
    lines.length = 0;
    expect(await verify(system.ownerPool, say)).to.equal(1);
    expect(lines).to.include(`different: order ${victim}`);
  });

  it('rebuild replaces the view with one equal to the live projection, while reads go on', async () => {
    const before = await Promise.all(orderIds.slice(1).map(view));
    const reads = (async () => {
      let failures = 0;
      for (let i = 0; i < 20; i++) if ((await system.get(`/api/v1/orders/${orderIds[1]}`)).status !== 200) failures++;
      return failures;
    })();
    lines.length = 0;
    const result = await rebuild(system.ownerPool, say);
    expect(await reads).to.equal(0);
    expect(result.events).to.be.greaterThan(0);
    expect(lines.at(-1)).to.match(/now live$/);
    expect(await Promise.all(orderIds.slice(1).map(view))).to.deep.equal(before);
    expect((await view(orderIds[0]!)).total_amount).to.not.equal(1);
    lines.length = 0;
    expect(await verify(system.ownerPool, say)).to.equal(0);
  });

  it('answers an order as it was at a past moment, and 404 before it was placed', async () => {
    const id = orderIds[0]!;
    const events = await system.pool.query<{ type: string; occurred_at: Date }>(
      'SELECT type, occurred_at FROM order_events WHERE order_id = $1 ORDER BY seq',
      [id],
    );
    const placedAt = events.rows[0]!.occurred_at;
    const atPlacement = await system.get(`/api/v1/orders/${id}?as_of=${encodeURIComponent(placedAt.toISOString())}`);
    expect(atPlacement.status).to.equal(200);
    expect(atPlacement.body).to.include({ status: 'placed', version: 1 });
    const before = await system.get(
      `/api/v1/orders/${id}?as_of=${encodeURIComponent(new Date(placedAt.getTime() - 1000).toISOString())}`,
    );
    expect(before.status).to.equal(404);
    const now = await system.get(`/api/v1/orders/${id}?as_of=${encodeURIComponent(new Date().toISOString())}`);
    expect(now.body.version).to.equal(events.rows.length);
  });

  it('loses nothing when the projector stops and a new one starts while orders flow', async () => {
    const { skus } = await system.catalog({ prices: [100], stock: [[20]] });
    const placedWhileDown: string[] = [];
    await system.restartProjector(async () => {
      for (let i = 0; i < 4; i++)
        placedWhileDown.push((await system.placeOrder(uniqueId('down'), [{ sku: skus[0]!, quantity: 1 }])).body.order_id);
      for (const id of placedWhileDown) await system.waitForFinalStatus(id);
    });
    for (const id of placedWhileDown) {
      const events = await eventTypes(system.pool, id);
      const res = await system.get(`/api/v1/orders/${id}?min_version=${events.length}`);
      expect(res.headers.get('projection-lag')).to.equal(null);
      expect(res.body.version).to.equal(events.length);
    }
    lines.length = 0;
    expect(await verify(system.ownerPool, say)).to.equal(0);
  });
});
