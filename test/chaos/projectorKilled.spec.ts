import { expect } from 'chai';
import { verify } from '../../scripts/replay.js';
import { eventually, uniqueId } from '../support/env.js';
import type { RunningProcess } from '../support/processes.js';
import { startServiceProcess, startTestSystem, type TestSystem } from '../support/system.js';

describe('a projector process killed with SIGKILL while orders flow', function () {
  this.timeout(90_000);
  let system: TestSystem;
  const processes: RunningProcess[] = [];

  before(async () => {
    system = await startTestSystem({ startProjector: false });
  });
  after(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    await system.stop();
  });

  async function startProjectorProcess(): Promise<RunningProcess> {
    const projector = await startServiceProcess(system, 'dist/query-service/projector/main.js', 'projector running');
    processes.push(projector);
    return projector;
  }

  const projectedViews = async () =>
    (await system.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM order_view')).rows[0]?.n ?? 0;

  it('loses nothing: after a restart every view reaches its order’s last event, equal to the fold', async () => {
    const { skus } = await system.catalog({ prices: [100], stock: [[100]] });
    const first = await startProjectorProcess();
    const orderIds: string[] = [];
    for (let i = 0; i < 10; i++)
      orderIds.push((await system.placeOrder(uniqueId('pk'), [{ sku: skus[0]!, quantity: 1 }])).body.order_id);
    await eventually('some views projected', async () => ((await projectedViews()) >= 3 ? true : undefined));
    first.child.kill('SIGKILL');
    expect(await first.exited).to.equal('SIGKILL');
    for (let i = 0; i < 5; i++)
      orderIds.push((await system.placeOrder(uniqueId('pk'), [{ sku: skus[0]!, quantity: 1 }])).body.order_id);
    for (const id of orderIds) await system.waitForFinalStatus(id);

    await startProjectorProcess();
    await eventually(
      'every view at its last event',
      async () => {
        const behind = await system.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM (SELECT order_id, max(seq) AS last FROM order_events WHERE order_id = ANY($1::uuid[]) GROUP BY order_id) e
             LEFT JOIN order_view v USING (order_id) WHERE v.version IS DISTINCT FROM e.last`,
          [orderIds],
        );
        return behind.rows[0]?.n === 0 ? true : undefined;
      },
      30_000,
      100,
    );
    const lines: string[] = [];
    expect(await verify(system.ownerPool, (line) => lines.push(line))).to.equal(0);
  });
});
