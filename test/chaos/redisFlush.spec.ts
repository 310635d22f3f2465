import { expect } from 'chai';
import { eventually, uniqueId } from '../support/env.js';
import { startTestSystem, type TestSystem } from '../support/system.js';

describe('Redis losing everything (FLUSHALL) while orders flow', function () {
  this.timeout(90_000);
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem();
  });
  after(() => system.stop());

  it('still brings every order to a final status, each saga step done once', async () => {
    const { skus } = await system.catalog({ prices: [500, 300], stock: [[1000, 1000]] });
    const orderIds: string[] = [];
    const place = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const res = await system.placeOrder(uniqueId('flow'), [{ sku: skus[i % 2]!, quantity: 1 }]);
        expect(res.status).to.equal(202);
        orderIds.push(res.body.order_id);
      }
    };
    await place(15);
    await system.redis.flushall();
    await place(15);
    // Lose it again while the relay is re-publishing.
    await system.redis.flushall();
    await place(10);

    await eventually(
      'every order final',
      async () => {
        const r = await system.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM orders WHERE order_id = ANY($1::uuid[]) AND status IN ('confirmed', 'rejected')`,
          [orderIds],
        );
        return r.rows[0]?.n === orderIds.length ? true : undefined;
      },
      60_000,
      100,
    );
    const confirmed = await system.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM orders WHERE order_id = ANY($1::uuid[]) AND status = 'confirmed'`,
      [orderIds],
    );
    expect(confirmed.rows[0]?.n).to.equal(orderIds.length);
    const perOrder = await system.pool.query<{ reservations: number; payments: number; confirmations: number }>(
      `SELECT (SELECT count(*) FROM reservations r WHERE r.order_id = o.order_id)::int AS reservations,
              (SELECT count(*) FROM payments p WHERE p.order_id = o.order_id)::int AS payments,
              (SELECT count(*) FROM order_events e WHERE e.order_id = o.order_id AND e.type = 'order.confirmed')::int AS confirmations
         FROM orders o WHERE o.order_id = ANY($1::uuid[])`,
      [orderIds],
    );
    for (const row of perOrder.rows) expect(row).to.deep.equal({ reservations: 1, payments: 1, confirmations: 1 });
  });
});
