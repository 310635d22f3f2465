import { expect } from 'chai';
import { uniqueId } from '../support/env.js';
import { pspAuthorizations, startTestSystem, stockOf, type TestSystem } from '../support/system.js';

describe('two saga workers in one consumer group', function () {
  this.timeout(90_000);
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem({ startSagaWorker: false });
    await Promise.all([system.startSagaWorker(), system.startSagaWorker()]);
  });
  after(() => system.stop());

  it('reserves and authorizes each order exactly once, and never oversells a hot SKU they both reserve', async () => {
    const { skus, warehouses } = await system.catalog({
      prices: [300, 200],
      stock: [
        [20, 100],
        [10, 100],
      ],
    });
    const accepted: string[] = [];
    // Waves of concurrent placements, so both workers read batches while the other is mid-way through one.
    for (let wave = 0; wave < 6; wave++) {
      const placed = await Promise.all(
        Array.from({ length: 10 }, () =>
          system.placeOrder(uniqueId('cust'), [
            { sku: skus[0]!, quantity: 1 },
            { sku: skus[1]!, quantity: 1 },
          ]),
        ),
      );
      for (const response of placed) {
        if (response.status === 202) accepted.push(response.body.order_id as string);
        else expect(response.status, JSON.stringify(response.body)).to.equal(409);
      }
    }
    const finals = await Promise.all(accepted.map((id) => system.waitForFinalStatus(id, 40_000)));
    const confirmed = accepted.filter((_, i) => finals[i] === 'confirmed');
    expect(confirmed).to.have.length(Math.min(30, accepted.length));

    const perOrder = await system.pool.query<{ order_id: string; type: string; n: number }>(
      `SELECT order_id, type, count(*)::int AS n FROM order_events WHERE order_id = ANY($1::uuid[]) GROUP BY order_id, type`,
      [accepted],
    );
    for (const row of perOrder.rows) expect(row.n, `${row.order_id} ${row.type}`).to.equal(1);
    const reserved = new Set(perOrder.rows.filter((r) => r.type === 'inventory.reserved').map((r) => r.order_id));
    const authorized = new Set(perOrder.rows.filter((r) => r.type === 'payment.authorized').map((r) => r.order_id));
    for (const orderId of confirmed) {
      expect(reserved.has(orderId) && authorized.has(orderId), orderId).to.equal(true);
    }

    const sagas = await system.pool.query<{ order_id: string; saga_id: string }>(
      'SELECT order_id, saga_id FROM sagas WHERE order_id = ANY($1::uuid[])',
      [accepted],
    );
    for (const { order_id: orderId, saga_id: sagaId } of sagas.rows) {
      const auths = await pspAuthorizations(system, sagaId);
      expect(
        auths.map((a) => a.status),
        orderId,
      ).to.deep.equal(confirmed.includes(orderId) ? ['authorized'] : []);
    }
    const lines = await system.pool.query<{ n: number; items: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT item_id)::int AS items FROM reservations WHERE order_id = ANY($1::uuid[])`,
      [confirmed],
    );
    expect(lines.rows[0]).to.deep.equal({ n: confirmed.length * 2, items: confirmed.length * 2 });
    const hot = [await stockOf(system.pool, warehouses[0]!, skus[0]!), await stockOf(system.pool, warehouses[1]!, skus[0]!)];
    expect(hot).to.deep.equal([
      { on_hand: 20, reserved: 20 },
      { on_hand: 10, reserved: 10 },
    ]);
    const other = [await stockOf(system.pool, warehouses[0]!, skus[1]!), await stockOf(system.pool, warehouses[1]!, skus[1]!)];
    expect(other.reduce((sum, s) => sum + s.reserved, 0)).to.equal(confirmed.length);
  });
});
