import { expect } from 'chai';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { PlacementSagaRunner } from '../../workers/saga/placementSagaRunner.js';
import { SagaScheduler } from '../../workers/saga/sagaScheduler.js';
import { uniqueId } from '../support/env.js';
import { startTestSystem, type TestSystem } from '../support/system.js';

describe('stuck-saga detector (contract §5)', function () {
  this.timeout(30_000);
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem({ startSagaWorker: false });
  });
  after(() => system.stop());

  it('lists a saga without progress at GET /api/v1/admin/sagas?stuck=true, logs an alert, and re-drives it', async () => {
    const { skus } = await system.catalog({ prices: [100], stock: [[3]] });
    const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }]);
    const { order_id: orderId, saga } = placed.body as { order_id: string; saga: { saga_id: string } };
    // Nobody drove it, and nothing will wake it but the detector.
    await system.pool.query(
      `UPDATE sagas SET updated_at = now() - interval '10 minutes', next_attempt_at = NULL WHERE saga_id = $1`,
      [saga.saga_id],
    );

    const listed = await system.get('/api/v1/admin/sagas?stuck=true');
    expect(listed.status).to.equal(200);
    const entry = listed.body.sagas.find((s: { saga_id: string }) => s.saga_id === saga.saga_id);
    expect(entry).to.include({ order_id: orderId, current_step: 'reserve_inventory', status: 'running' });
    expect(entry.stuck_for_ms).to.be.at.least(9 * 60_000);

    const lines: Array<Record<string, unknown>> = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      }),
    );
    const context = { pool: system.pool, psp: system.psp, logger, now: () => new Date(), leaseMs: 5_000 };
    const scheduler = new SagaScheduler({
      pool: system.pool,
      runner: new PlacementSagaRunner(context, 5_000),
      logger,
      pollMs: 100,
      leaseMs: 5_000,
      stuckAfterMs: 60_000,
    });
    scheduler.start();
    try {
      expect(await system.waitForFinalStatus(orderId)).to.equal('confirmed');
    } finally {
      await scheduler.stop();
    }
    expect(lines.some((l) => l.alert === 'saga-stuck' && l.saga_id === saga.saga_id)).to.equal(true);
    const after = await system.get('/api/v1/admin/sagas?stuck=true');
    expect(after.body.sagas.map((s: { saga_id: string }) => s.saga_id)).not.to.include(saga.saga_id);
  });

  it('refuses listings other than stuck=true', async () => {
    expect((await system.get('/api/v1/admin/sagas')).status).to.equal(400);
    expect((await system.get('/api/v1/admin/sagas?stuck=maybe')).status).to.equal(400);
  });
});
