import { expect } from 'chai';
import { eventually, uniqueId } from '../support/env.js';
import type { RunningProcess } from '../support/processes.js';
import {
  eventTypes,
  pspAuthorizations,
  startServiceProcess,
  startTestSystem,
  stockOf,
  type TestSystem,
} from '../support/system.js';

describe('a saga worker stopped (SIGKILL, SIGTERM) in the middle of a step', function () {
  this.timeout(90_000);
  let system: TestSystem;
  const workers: RunningProcess[] = [];

  before(async () => {
    // A slow PSP (1.5 s a call) keeps the worker inside the authorization step long enough to kill it there.
    system = await startTestSystem({ pspLatencyMs: 1_500, startSagaWorker: false });
  });
  after(async () => {
    for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await system.stop();
  });

  async function startWorkerProcess(): Promise<RunningProcess> {
    const worker = await startServiceProcess(system, 'dist/workers/saga/main.js', 'saga worker running', {
      PSP_TIMEOUT_MS: '5000',
      SAGA_LEASE_MS: '2000',
      SAGA_POLL_MS: '100',
    });
    workers.push(worker);
    return worker;
  }

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    const what =
      signal === 'SIGKILL'
        ? 'SIGKILL: the next worker resumes from the recorded step'
        : 'SIGTERM: the worker finishes the step it is in and exits cleanly; the next one goes on';
    it(`${what}: one authorization at the PSP, one reservation per line`, async () => {
      const { skus, warehouses } = await system.catalog({ prices: [1000, 250], stock: [[4, 4]] });
      const first = await startWorkerProcess();
      const placed = await system.placeOrder(uniqueId('cust'), [
        { sku: skus[0]!, quantity: 1 },
        { sku: skus[1]!, quantity: 2 },
      ]);
      const orderId = placed.body.order_id as string;
      const sagaId = placed.body.saga.saga_id as string;

      await eventually('the worker inside the authorization step', async () => {
        const saga = await system.pool.query('SELECT step_results FROM sagas WHERE saga_id = $1', [sagaId]);
        const steps = saga.rows[0]?.step_results ?? {};
        return steps.reserve_inventory?.status === 'succeeded' && steps.authorize_payment === undefined ? true : undefined;
      });
      first.child.kill(signal);
      expect(await first.exited).to.equal(signal === 'SIGKILL' ? 'SIGKILL' : 0);
      if (signal === 'SIGTERM') {
        // It drained: the step it was in is recorded, not cut off.
        const saga = await system.pool.query('SELECT step_results FROM sagas WHERE saga_id = $1', [sagaId]);
        expect(saga.rows[0]?.step_results.authorize_payment?.status).to.equal('succeeded');
      }

      await startWorkerProcess();
      expect(await system.waitForFinalStatus(orderId, 30_000)).to.equal('confirmed');

      expect((await pspAuthorizations(system, sagaId)).map((a) => a.status)).to.deep.equal(['authorized']);
      const reservations = await system.pool.query<{ item_id: string; n: number }>(
        'SELECT item_id, count(*)::int AS n FROM reservations WHERE order_id = $1 GROUP BY item_id',
        [orderId],
      );
      expect(reservations.rows.map((r) => r.n)).to.deep.equal([1, 1]);
      const payments = await system.pool.query('SELECT count(*)::int AS n FROM payments WHERE order_id = $1', [orderId]);
      expect(payments.rows[0].n).to.equal(1);
      const types = await eventTypes(system.pool, orderId);
      expect(types.filter((t) => t === 'payment.authorized')).to.have.length(1);
      expect(types.filter((t) => t === 'inventory.reserved')).to.have.length(1);
      expect(await stockOf(system.pool, warehouses[0]!, skus[1]!)).to.deep.equal({ on_hand: 4, reserved: 2 });
      // The next case starts with no worker of this one still running.
      for (const worker of workers)
        if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.exited));
    });
  }
});
