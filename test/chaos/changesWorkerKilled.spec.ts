import { expect } from 'chai';
import { eventually, uniqueId } from '../support/env.js';
import type { RunningProcess } from '../support/processes.js';
import { eventTypes, startServiceProcess, startTestSystem, type TestSystem } from '../support/system.js';

describe('the changes worker killed with SIGKILL in the middle of a refund', function () {
  this.timeout(120_000);
  let system: TestSystem;
  const workers: RunningProcess[] = [];

  before(async () => {
    // A slow PSP (1 s a call) keeps the worker inside the refund's PSP calls long enough to kill it there.
    system = await startTestSystem({ fulfillment: {}, changes: false, pspLatencyMs: 1_000, pspTimeoutMs: 5_000 });
  });
  after(async () => {
    for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await system.stop();
  });

  async function startWorker(): Promise<RunningProcess> {
    const worker = await startServiceProcess(system, 'dist/workers/changes/main.js', 'changes worker running', {
      PSP_TIMEOUT_MS: '5000',
      SAGA_LEASE_MS: '2000',
      SAGA_POLL_MS: '100',
    });
    workers.push(worker);
    return worker;
  }

  it('resumes from the recorded step: each capture refunded once at the PSP, one credit note', async () => {
    const { orderId } = await system.placeSplitOrder();
    await system.waitForStatus(orderId, ['delivered'], 60_000);
    await eventually(
      'both captures',
      async () => {
        const n = await system.pool.query(`SELECT count(*)::int AS n FROM captures WHERE order_id = $1 AND status = 'captured'`, [
          orderId,
        ]);
        return n.rows[0].n === 2 ? true : undefined;
      },
      20_000,
    );

    const first = await startWorker();
    const answer = await system.post(
      `/api/v1/orders/${orderId}/refunds`,
      { amount: 4000, reason: 'goodwill' },
      { 'Idempotency-Key': uniqueId('r') },
    );
    expect(answer.status).to.equal(202);
    const refundId = answer.body.refund_id as string;
    await eventually('the worker inside the PSP refunds', async () => {
      const saga = await system.pool.query(
        `SELECT step_results FROM sagas s JOIN refunds r ON r.saga_id = s.saga_id WHERE r.refund_id = $1`,
        [refundId],
      );
      const steps = saga.rows[0]?.step_results ?? {};
      return steps.allocate !== undefined && steps.refund_at_psp === undefined ? true : undefined;
    });
    first.child.kill('SIGKILL');
    expect(await first.exited).to.equal('SIGKILL');
    await startWorker();

    const settled = await eventually(
      'refund settled',
      async () => {
        const row = await system.pool.query<{ status: string }>('SELECT status FROM refunds WHERE refund_id = $1', [refundId]);
        return row.rows[0]?.status === 'pending' ? undefined : row.rows[0]?.status;
      },
      30_000,
    );
    expect(settled).to.equal('succeeded');
    const refunds = await system.pspLedger.query<{ n: number; total: number }>(
      'SELECT count(*)::int AS n, sum(amount)::bigint AS total FROM refunds',
    );
    expect(refunds.rows[0]).to.deep.equal({ n: 2, total: 4000 });
    const captures = await system.pool.query<{ total: number }>(
      'SELECT sum(amount_refunded)::bigint AS total FROM captures WHERE order_id = $1',
      [orderId],
    );
    expect(captures.rows[0]!.total).to.equal(4000);
    const notes = await system.pool.query(
      `SELECT count(*)::int AS n FROM invoices WHERE order_id = $1 AND kind = 'credit_note'`,
      [orderId],
    );
    expect(notes.rows[0].n).to.equal(1);
    expect((await eventTypes(system.pool, orderId)).filter((t) => t === 'refund.issued')).to.have.length(1);
  });
});
