import { expect } from 'chai';
import { Scope } from '../../platform/access.js';
import { rebuildFunnel } from '../../query-service/projections/funnel/funnelStore.js';
import { bearer, createTestKey } from '../support/apiKeys.js';
import { eventually, uniqueId } from '../support/env.js';
import { startTestSystem, type TestSystem } from '../support/system.js';

interface FunnelAnswer {
  hours: Array<{ hour: string; channel: string; placed: number; confirmed: number; rejected: number; delivered: number }>;
  totals: {
    placed: number;
    confirmed: number;
    rejected: number;
    shipped: number;
    delivered: number;
    conversion: { placed_to_confirmed: number | null };
    latency_ms: { placed_to_confirmed: { p50: number | null; p95: number | null } };
  };
}

describe('the order funnel: a projection of its own from Kafka, equal to a replay of the log', function () {
  this.timeout(120_000);
  let system: TestSystem;
  let skus: string[];

  before(async () => {
    system = await startTestSystem({ fulfillment: {}, analytics: true });
    ({ skus } = await system.catalog({ prices: [1200], stock: [[100]] }));
  });
  after(() => system.stop());

  it('counts placed, confirmed, rejected and delivered orders by placement hour and channel, with conversions and step latencies', async () => {
    const from = new Date(Date.now() - 60_000).toISOString();
    const delivered: string[] = [];
    const rejected: string[] = [];
    for (let i = 0; i < 4; i++) {
      const placed = await system.placeOrder(uniqueId('funnel'), [{ sku: skus[0]!, quantity: 1 }]);
      delivered.push(placed.body.order_id as string);
    }
    const declined = await system.placeOrder(uniqueId('funnel'), [{ sku: skus[0]!, quantity: 1 }], {
      payment_method: { type: 'card', token: 'tok_chargeDeclined' },
    });
    rejected.push(declined.body.order_id as string);
    const mobile = await system.placeOrder(uniqueId('funnel'), [{ sku: skus[0]!, quantity: 1 }], { channel: 'mobile' });
    delivered.push(mobile.body.order_id as string);
    for (const orderId of delivered) expect(await system.waitForStatus(orderId, ['delivered'], 60_000)).to.equal('delivered');
    for (const orderId of rejected) expect(await system.waitForStatus(orderId, ['rejected'], 30_000)).to.equal('rejected');

    const all = [...delivered, ...rejected];
    await eventually(
      'the funnel caught up',
      async () => {
        const { rows } = await system.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM order_funnel WHERE order_id = ANY($1::uuid[]) AND (delivered_at IS NOT NULL OR rejected_at IS NOT NULL)`,
          [all],
        );
        return rows[0]!.n === all.length ? true : undefined;
      },
      60_000,
    );

    const to = new Date(Date.now() + 60_000).toISOString();
    const answer = await system.get(`/api/v1/analytics/funnel?from=${from}&to=${to}`);
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    const body = answer.body as FunnelAnswer;
    expect(body.totals).to.include({ placed: 6, confirmed: 5, rejected: 1, shipped: 5, delivered: 5 });
    expect(body.totals.conversion.placed_to_confirmed).to.equal(0.8333);
    expect(body.totals.latency_ms.placed_to_confirmed.p50).to.be.a('number').and.to.be.at.least(0);
    const byChannel = new Map<string, number>();
    for (const h of body.hours) byChannel.set(h.channel, (byChannel.get(h.channel) ?? 0) + h.placed);
    expect(Object.fromEntries(byChannel)).to.deep.equal({ mobile: 1, web: 5 });

    // A channel's key sees its own channel's cohort only, and cannot ask for another's.
    const { key } = await createTestKey(system.pool, { channel: 'mobile', scopes: [Scope.ordersRead] });
    const own = await system.get(`/api/v1/analytics/funnel?from=${from}&to=${to}`, bearer(key));
    expect((own.body as FunnelAnswer).totals).to.include({ placed: 1, delivered: 1 });
    expect((await system.get(`/api/v1/analytics/funnel?channel=web&from=${from}&to=${to}`, bearer(key))).status).to.equal(403);
    expect((await system.get(`/api/v1/analytics/funnel?from=${to}&to=${from}`)).status).to.equal(400);
    expect((await system.get('/api/v1/analytics/funnel?from=yesterday')).status).to.equal(400);

    // The replay tool's rebuild from the log gives exactly the rows the consumer keeps.
    const kept = await system.pool.query('SELECT * FROM order_funnel WHERE order_id = ANY($1::uuid[]) ORDER BY order_id', [all]);
    await system.pool.query('DELETE FROM order_funnel');
    expect(await rebuildFunnel(system.pool)).to.be.at.least(all.length);
    const rebuilt = await system.pool.query('SELECT * FROM order_funnel WHERE order_id = ANY($1::uuid[]) ORDER BY order_id', [
      all,
    ]);
    const strip = (rows: Array<Record<string, unknown>>) => rows.map(({ updated_at: _, ...row }) => row);
    expect(strip(rebuilt.rows)).to.deep.equal(strip(kept.rows));
  });
});
