import { expect } from 'chai';
import { createSplitCatalog } from '../support/catalog.js';
import { eventually, uniqueId } from '../support/env.js';
import type { RunningProcess } from '../support/processes.js';
import { startServiceProcess, startTestSystem, type TestSystem } from '../support/system.js';

describe('the WMS sandbox killed with SIGKILL in the middle of its stream, then restarted', function () {
  this.timeout(120_000);
  let system: TestSystem;
  const processes: RunningProcess[] = [];

  before(async () => {
    system = await startTestSystem({ fulfillment: { wms: false } });
  });
  after(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    await system.stop();
  });

  async function startWms(): Promise<RunningProcess> {
    const wms = await startServiceProcess(system, 'dist/simulators/wms/main.js', 'WMS sandbox running', {
      ...system.fulfillment!.wmsEnv,
      // Slow enough that the kill lands while shipments are at every step.
      WMS_SIM_STEP_MS: '300',
    });
    processes.push(wms);
    return wms;
  }

  it('ships no shipment twice and captures each exactly once', async () => {
    const { skus } = await createSplitCatalog(system.pool, { prices: [1000, 400], units: 50 });
    const first = await startWms();
    const orders: string[] = [];
    for (let i = 0; i < 12; i++) {
      const placed = await system.placeOrder(uniqueId('cust'), [
        { sku: skus[0]!, quantity: 1 + (i % 2) },
        { sku: skus[1]!, quantity: 1 },
      ]);
      orders.push(placed.body.order_id as string);
    }
    // Kill it once some shipments have left and others have not yet been picked.
    await eventually(
      'the WMS mid-stream',
      async () => {
        const steps = first.lines.filter((l) => typeof l === 'object' && l.msg === 'shipment step published');
        const shipped = steps.filter((l) => (l as { step?: string }).step === 'shipped').length;
        return shipped >= 2 ? true : undefined;
      },
      30_000,
      10,
    );
    first.child.kill('SIGKILL');
    expect(await first.exited).to.equal('SIGKILL');
    await startWms();

    for (const orderId of orders) expect(await system.waitForStatus(orderId, ['delivered'], 60_000)).to.equal('delivered');

    const shipped = await system.pool.query<{ shipment_id: string; n: number }>(
      `SELECT payload->>'shipment_id' AS shipment_id, count(*)::int AS n FROM order_events
        WHERE order_id = ANY($1::uuid[]) AND type = 'shipment.shipped' GROUP BY 1`,
      [orders],
    );
    expect(shipped.rows).to.have.length(24);
    expect(shipped.rows.every((r) => r.n === 1)).to.equal(true);
    // Captures run beside tracking: the last ones may still be under way when the orders are delivered.
    const captures = await eventually(
      'every shipment captured',
      async () => {
        const counted = await system.pool.query<{ n: number; total: number }>(
          `SELECT count(*)::int AS n, sum(amount)::bigint AS total FROM captures WHERE order_id = ANY($1::uuid[]) AND status = 'captured'`,
          [orders],
        );
        return counted.rows[0]!.n >= 24 ? counted : undefined;
      },
      30_000,
    );
    const authorized = await system.pool.query<{ total: number }>(
      'SELECT sum(amount)::bigint AS total FROM payments WHERE order_id = ANY($1::uuid[])',
      [orders],
    );
    expect(captures.rows[0]).to.deep.equal({ n: 24, total: authorized.rows[0]!.total });

    // The PSP itself holds one capture per shipment, never more than each authorization.
    const atPsp = await system.pspLedger.query<{ captures: number; over: number }>(
      `SELECT count(*)::int AS captures,
              count(*) FILTER (WHERE a.amount_captured > a.amount)::int AS over
         FROM captures c JOIN authorizations a ON a.authorization_id = c.authorization_id`,
    );
    expect(atPsp.rows[0]).to.deep.equal({ captures: 24, over: 0 });
  });
});
