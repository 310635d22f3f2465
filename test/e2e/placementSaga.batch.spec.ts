import { expect } from 'chai';
import { createRedis } from '../../platform/redis.js';
import { groupStreams, parseFields } from '../../platform/streams.js';
import { listDeadLetters } from '../../platform/deadLetters.js';
import { SagaWorker, sagaWorkerSettings } from '../../workers/saga/sagaWorker.js';
import { eventually, uniqueId } from '../support/env.js';
import { eventTypes, pspAuthorizations, startTestSystem, stockOf, type TestSystem } from '../support/system.js';

describe('placement saga in micro-batches: one batch of mixed orders, each decided as on its own', function () {
  this.timeout(60_000);
  let system: TestSystem;
  before(async () => {
    // Nobody drives sagas until the whole mix is on the streams: the worker's first read is one batch.
    // A PSP timeout far beyond the sandbox's answers, so the unanswered request is plainly a straggler.
    system = await startTestSystem({ pspTimeoutMs: 1_500, pspRetryDeadlineMs: 3_000, startSagaWorker: false });
  });
  after(() => system.stop());

  const sagaOf = async (orderId: string) =>
    (await system.pool.query('SELECT saga_id, status, step_results FROM sagas WHERE order_id = $1', [orderId])).rows[0] as {
      saga_id: string;
      status: string;
      step_results: Record<string, Record<string, unknown> & { status: string }>;
    };
  const count = (types: string[], type: string) => types.filter((t) => t === type).length;

  it('confirms the good ones and rejects declines, fraud, missing stock and an unanswering PSP with their reasons', async () => {
    // skus[0]: plenty for the good and the failing cards; skus[1]: 3 units wanted twice by 2 (one must lose).
    const { skus, warehouses } = await system.catalog({ prices: [1000, 400], stock: [[50, 3]] });
    const place = async (token: string, sku: string, quantity: number) => {
      const placed = await system.placeOrder(uniqueId('cust'), [{ sku, quantity }], {
        payment_method: { type: 'card', token },
      });
      expect(placed.status, JSON.stringify(placed.body)).to.equal(202);
      return placed.body.order_id as string;
    };
    const good = await Promise.all([1, 2, 3].map(() => place('tok_visa', skus[0]!, 1)));
    const declined = await Promise.all([1, 2].map(() => place('tok_chargeDeclined', skus[0]!, 2)));
    const fraud = await Promise.all([1, 2].map(() => place('tok_riskLevelHighest', skus[0]!, 3)));
    const unanswered = await place('tok_timeout', skus[0]!, 4);
    const rivals = await Promise.all([1, 2].map(() => place('tok_visa', skus[1]!, 2)));
    const all = [...good, ...declined, ...fraud, unanswered, ...rivals];

    await eventually('every order.placed on the streams', async () =>
      (await streamEntries()) === all.length ? true : undefined,
    );
    const batches: number[] = [];
    const reader = createRedis(system.config.redisUrl, 'batch-test-reader');
    const worker = new SagaWorker({
      pool: system.pool,
      reader,
      commands: system.redis,
      psp: system.psp,
      logger: system.logger,
      ...sagaWorkerSettings(system.config),
    });
    const driveBatch = worker.runner.driveBatch.bind(worker.runner);
    worker.runner.driveBatch = (sagaIds) => {
      batches.push(sagaIds.length);
      return driveBatch(sagaIds);
    };
    system.sagaWorkers.push(worker);
    try {
      await worker.start();
      const finals = await Promise.all(all.map((id) => system.waitForFinalStatus(id, 20_000)));
      expect(batches[0], 'the first read is one batch').to.equal(all.length);

      for (const orderId of good) {
        const saga = await sagaOf(orderId);
        expect(saga.status).to.equal('completed');
        expect(saga.step_results.check_fraud?.status).to.equal('succeeded');
        expect(saga.step_results.authorize_payment?.risk_level).to.equal('normal');
        const types = await eventTypes(system.pool, orderId);
        expect(types[0]).to.equal('order.placed');
        expect(types[1]).to.equal('inventory.reserved');
        expect(types.slice(2, 4)).to.have.members(['payment.authorized', 'fraud.checked']);
        expect(types.slice(4)).to.deep.equal(['order.confirmed']);
        expect((await pspAuthorizations(system, saga.saga_id)).map((a) => a.status)).to.deep.equal(['authorized']);
      }
      for (const orderId of declined) {
        const saga = await sagaOf(orderId);
        expect(saga.step_results.reject_order?.reason).to.equal('payment-declined');
        const types = await eventTypes(system.pool, orderId);
        expect(types).to.include.members(['payment.declined', 'inventory.released', 'order.rejected']);
        expect(types).not.to.include('payment.authorized');
        expect(count(types, 'inventory.reserved')).to.equal(1);
        expect(await pspAuthorizations(system, saga.saga_id)).to.deep.equal([]);
      }
      for (const orderId of fraud) {
        const saga = await sagaOf(orderId);
        expect(saga.step_results.reject_order?.reason).to.equal('fraud-rejected');
        expect(saga.step_results.check_fraud?.reasons).to.include('card risk level highest');
        expect((await pspAuthorizations(system, saga.saga_id)).map((a) => a.status)).to.deep.equal(['voided']);
        const payments = await system.pool.query('SELECT status FROM payments WHERE order_id = $1', [orderId]);
        expect(payments.rows).to.deep.equal([{ status: 'voided' }]);
        const types = await eventTypes(system.pool, orderId);
        expect(types.indexOf('payment.voided')).to.be.lessThan(types.indexOf('inventory.released'));
        expect(types.at(-1)).to.equal('order.rejected');
        expect(count(types, 'payment.authorized')).to.equal(1);
      }
      {
        const saga = await sagaOf(unanswered);
        // The batch did not wait for the PSP to give up on it: the good orders were confirmed first.
        const firstTimeout = new Date(saga.step_results.authorize_payment?.first_failure_at as string);
        for (const orderId of good) {
          const confirmedAt = new Date((await sagaOf(orderId)).step_results.confirm_order?.at as string);
          expect(confirmedAt).to.be.lessThan(firstTimeout);
        }
        expect(saga.step_results.reject_order?.reason).to.equal('payment-unavailable');
        expect(saga.step_results.authorize_payment?.status).to.equal('retrying');
        expect(saga.step_results.void_authorization?.outcome).to.equal('nothing-to-void');
        expect(await pspAuthorizations(system, saga.saga_id)).to.deep.equal([]);
      }
      // Of the two rivals for 3 units, the first in the batch takes 2; the other is short of stock.
      const rivalFinals = finals.slice(-2);
      expect([...rivalFinals].sort()).to.deep.equal(['confirmed', 'rejected']);
      const loser = rivals[rivalFinals.indexOf('rejected')]!;
      const loserSaga = await sagaOf(loser);
      expect(loserSaga.step_results.reject_order?.reason).to.equal('insufficient-stock');
      expect(await pspAuthorizations(system, loserSaga.saga_id)).to.deep.equal([]);
      const held = await system.pool.query('SELECT count(*)::int AS n FROM reservations WHERE order_id = $1', [loser]);
      expect(held.rows[0].n).to.equal(0);

      // Stock: only the confirmed orders hold any (3 × 1 of skus[0], 2 of skus[1]); every rejected one gave it back.
      expect(await stockOf(system.pool, warehouses[0]!, skus[0]!)).to.deep.equal({ on_hand: 50, reserved: 3 });
      expect(await stockOf(system.pool, warehouses[0]!, skus[1]!)).to.deep.equal({ on_hand: 3, reserved: 2 });
      expect(finals.filter((s) => s === 'confirmed')).to.have.length(good.length + 1);
    } finally {
      await system.stopSagaWorkers();
      reader.disconnect();
    }
  });

  it('dead-letters an order.placed whose saga id is malformed without failing the orders read with it', async () => {
    const { skus } = await system.catalog({ prices: [500], stock: [[10]] });
    const placed = await Promise.all([1, 2].map(() => system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }])));
    const orderIds = placed.map((p) => p.body.order_id as string);
    const entries = await eventually('both order.placed on the streams', async () => {
      const found = await placedEntries(orderIds);
      return found.length === 2 ? found : undefined;
    });
    // A copy of one of them that names no saga, as a buggy producer would write it.
    const { stream, fields } = entries[0]!;
    const envelope = JSON.parse(parseFields(fields).envelope!) as { event_id: string; payload: Record<string, unknown> };
    const broken = { ...envelope, event_id: uniqueId('evt'), payload: { ...envelope.payload, saga_id: 'not-a-saga' } };
    const brokenFields = fields.map((value, i) => (fields[i - 1] === 'envelope' ? JSON.stringify(broken) : value));
    await system.redis.xadd(stream, '*', ...brokenFields);

    await system.startSagaWorker();
    expect(await Promise.all(orderIds.map((id) => system.waitForFinalStatus(id)))).to.deep.equal(['confirmed', 'confirmed']);
    const letters = await eventually(
      'the malformed entry dead-lettered',
      async () => {
        const list = await listDeadLetters(system.pool, { group: 'saga' });
        return list.length === 1 ? list : undefined;
      },
      30_000,
    );
    expect(letters[0]?.error).to.match(/not a saga id/);
  });

  async function placedEntries(orderIds: readonly string[]): Promise<Array<{ stream: string; fields: string[] }>> {
    const found: Array<{ stream: string; fields: string[] }> = [];
    for (const stream of groupStreams(system.layout, 'saga')) {
      for (const [, fields] of await system.redis.xrange(stream, '-', '+')) {
        const f = parseFields(fields);
        if (f.type === 'order.placed' && orderIds.includes(f.order_id ?? '')) found.push({ stream, fields });
      }
    }
    return found;
  }

  async function streamEntries(): Promise<number> {
    let entries = 0;
    for (const stream of groupStreams(system.layout, 'saga')) entries += await system.redis.xlen(stream);
    return entries;
  }
});
