import { expect } from 'chai';
import { createRedis, type Redis } from '../../platform/redis.js';
import { groupStreams, parseFields, streamForOrder } from '../../platform/streams.js';
import type { SweepSettings } from '../../platform/sweep.js';
import { Projector, projectorSettings } from '../../query-service/projector/projector.js';
import { ChangesWorker, changesWorkerSettings } from '../../workers/changes/changesWorker.js';
import { RouterWorker, routerWorkerSettings } from '../../workers/router/routerWorker.js';
import { orphanVoidKey } from '../../workers/saga/orphanAuthorizationsSweep.js';
import { SagaWorker, sagaWorkerSettings } from '../../workers/saga/sagaWorker.js';
import { eventually, uniqueId } from '../support/env.js';
import { eventTypes, placeShortPickedOrder, startTestSystem, type TestSystem } from '../support/system.js';

/** Sweeps at test pace: a pass every ~100 ms, nothing too recent to look at. */
const fast: SweepSettings = {
  everyMs: 100,
  graceMs: 0,
  lookbackMs: 3_600_000,
  scanLimit: 1_000,
  repairLimit: 100,
  statementTimeoutMs: 2_000,
};

/** A consumer group that starts after everything now on the streams: what is there is lost to it (as if acknowledged unhandled). */
async function groupStartingNow(system: TestSystem, group: string): Promise<void> {
  for (const stream of groupStreams(system.layout, group)) {
    await system.redis.xgroup('CREATE', stream, group, '$', 'MKSTREAM').catch(async (error: unknown) => {
      if (!String(error).includes('BUSYGROUP')) throw error;
      await system.redis.xgroup('SETID', stream, group, '$');
    });
  }
}

/** The stream entry of an order's event of this type: where it is and its fields. */
async function entryOf(
  system: TestSystem,
  orderId: string,
  type: string,
): Promise<{ stream: string; id: string; fields: string[] }> {
  return eventually(`${type} of ${orderId} on a stream`, async () => {
    // The projector's streams hold every event.
    for (const stream of groupStreams(system.layout, 'projector')) {
      for (const [id, fields] of await system.redis.xrange(stream, '-', '+')) {
        const f = parseFields(fields);
        if (f.order_id === orderId && f.type === type) return { stream, id, fields };
      }
    }
    return undefined;
  });
}

/** The entry put back on its stream for one group, as a re-drive would: the late message meeting the sweep's repair. */
async function redeliver(system: TestSystem, entry: { stream: string; fields: string[] }, group: string): Promise<void> {
  const orderId = parseFields(entry.fields).order_id ?? '';
  await system.redis.xadd(streamForOrder(system.layout, group, orderId), '*', ...entry.fields, 'redrive_for', group);
}

const count = (types: string[], type: string) => types.filter((t) => t === type).length;

describe('sweeps repair what a lost message leaves behind, once', function () {
  this.timeout(90_000);
  const readers: Redis[] = [];
  const reader = (system: TestSystem) => {
    const client = createRedis(system.config.redisUrl, uniqueId('sweep-test'));
    readers.push(client);
    return client;
  };
  after(() => {
    for (const client of readers.splice(0)) client.disconnect();
  });

  describe('router: a confirmed order without shipments is routed', () => {
    let system: TestSystem;
    before(async () => {
      system = await startTestSystem();
    });
    after(() => system.stop());

    it('routes it when its order.confirmed was lost, once, and a late order.confirmed changes nothing', async () => {
      const { skus } = await system.catalog({ prices: [700], stock: [[10]] });
      const orderId = (await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 2 }])).body.order_id as string;
      expect(await system.waitForFinalStatus(orderId)).to.equal('confirmed');
      const confirmed = await entryOf(system, orderId, 'order.confirmed');
      // The router's group begins after the order.confirmed: it never sees it.
      await groupStartingNow(system, 'router');
      const worker = new RouterWorker({
        pool: system.pool,
        reader: reader(system),
        commands: system.redis,
        logger: system.logger,
        ...routerWorkerSettings(system.config),
        sweep: fast,
      });
      await worker.start();
      try {
        expect(await system.waitForStatus(orderId, ['processing'])).to.equal('processing');
        const shipments = async () =>
          (await system.pool.query('SELECT count(*)::int AS n FROM shipments WHERE order_id = $1', [orderId])).rows[0].n;
        expect(await shipments()).to.equal(1);

        expect((await worker.sweep.runOnce()).repaired, 'a second pass finds nothing').to.equal(0);
        await redeliver(system, confirmed, 'router');
        await eventually('the late entry acknowledged', async () => {
          const pending = await Promise.all(groupStreams(system.layout, 'router').map((s) => system.redis.xpending(s, 'router')));
          return pending.every((p) => (p as [number])[0] === 0) ? true : undefined;
        });
        await worker.sweep.runOnce();
        expect(await shipments()).to.equal(1);
        expect(count(await eventTypes(system.pool, orderId), 'shipment.created')).to.equal(1);
      } finally {
        await worker.stop();
      }
    });
  });

  describe('projector: a view behind its event log is caught up', () => {
    let system: TestSystem;
    before(async () => {
      system = await startTestSystem({ startProjector: false });
    });
    after(() => system.stop());

    it('catches up a view whose last entry was lost, once', async () => {
      const { skus } = await system.catalog({ prices: [300], stock: [[10]] });
      const orderId = (await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }])).body.order_id as string;
      expect(await system.waitForFinalStatus(orderId)).to.equal('confirmed');
      // The order's last entry is lost before the projector reads it: no later entry will show the gap.
      const confirmed = await entryOf(system, orderId, 'order.confirmed');
      await system.redis.xdel(confirmed.stream, confirmed.id);
      const version = (await system.pool.query('SELECT version FROM orders WHERE order_id = $1', [orderId])).rows[0].version;
      const projector = new Projector({
        pool: system.pool,
        reader: reader(system),
        commands: system.redis,
        logger: system.logger,
        ...projectorSettings(system.config),
        sweep: fast,
      });
      await projector.start();
      try {
        const view = await eventually('the view caught up', async () => {
          const row = (await system.pool.query('SELECT version, status FROM order_view WHERE order_id = $1', [orderId])).rows[0];
          return row?.version === version ? row : undefined;
        });
        expect(view).to.deep.equal({ version, status: 'confirmed' });
        expect((await projector.sweep.runOnce()).repaired).to.equal(0);
        const read = await system.get(`/api/v1/orders/${orderId}`);
        expect(read.body).to.include({ status: 'confirmed', version });
      } finally {
        await projector.stop();
      }
    });
  });

  describe("changes worker: a delivered order's open authorization is released", () => {
    let system: TestSystem;
    before(async () => {
      system = await startTestSystem({ fulfillment: {}, changes: false });
    });
    after(() => system.stop());

    it('releases the uncaptured rest when the shipment.delivered was lost, once, at the PSP and in our books', async () => {
      const { orderId } = await placeShortPickedOrder(system);
      expect(await system.waitForStatus(orderId, ['delivered'], 30_000)).to.equal('delivered');
      const delivered = await entryOf(system, orderId, 'shipment.delivered');
      // Nobody released anything: the changes worker was not there for the shipment.delivered.
      const payment = async () =>
        (await system.pool.query('SELECT amount, amount_captured, status FROM payments WHERE order_id = $1', [orderId])).rows[0];
      expect(await payment()).to.deep.equal({ amount: 4000, amount_captured: 2000, status: 'partially_captured' });

      await groupStartingNow(system, 'changes');
      const worker = new ChangesWorker({
        pool: system.pool,
        reader: reader(system),
        commands: system.redis,
        psp: system.psp,
        logger: system.logger,
        ...changesWorkerSettings(system.config),
        sweep: fast,
      });
      await worker.start();
      try {
        const released = await eventually('the rest released', async () => {
          const row = await payment();
          return row.amount === 2000 ? row : undefined;
        });
        expect(released).to.deep.equal({ amount: 2000, amount_captured: 2000, status: 'captured' });
        const sagaId = (await system.pool.query('SELECT saga_id FROM sagas WHERE order_id = $1', [orderId])).rows[0].saga_id;
        const atPsp = async () =>
          (await system.pspLedger.query('SELECT amount FROM authorizations WHERE reference = $1', [sagaId])).rows;
        expect(await atPsp()).to.deep.equal([{ amount: 2000 }]);

        expect((await worker.sweep.runOnce()).repaired).to.equal(0);
        await redeliver(system, delivered, 'changes');
        await eventually('the late entry acknowledged', async () => {
          const pending = await Promise.all(
            groupStreams(system.layout, 'changes').map((s) => system.redis.xpending(s, 'changes')),
          );
          return pending.every((p) => (p as [number])[0] === 0) ? true : undefined;
        });
        expect(count(await eventTypes(system.pool, orderId), 'payment.released')).to.equal(1);
        expect(await atPsp()).to.deep.equal([{ amount: 2000 }]);
        const reversals = await system.pspLedger.query(`SELECT count(*)::int AS n FROM idempotency WHERE operation = 'reversal'`);
        expect(reversals.rows[0].n).to.equal(1);
      } finally {
        await worker.stop();
      }
    });
  });

  describe('saga worker: an authorization at the PSP that no saga owns is voided', () => {
    let system: TestSystem;
    before(async () => {
      system = await startTestSystem({ startSagaWorker: false });
    });
    after(() => system.stop());

    it('voids the authorization of a saga that rolled back after the PSP authorized, once, and leaves owned ones alone', async () => {
      const { skus } = await system.catalog({ prices: [800], stock: [[10]] });
      const place = async () => {
        const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }]);
        return { orderId: placed.body.order_id as string, sagaId: placed.body.saga.saga_id as string };
      };
      const rolledBack = await place();
      const owned = await place();
      // The PSP authorized both (the keys the saga uses), and neither answer reached our books.
      for (const { sagaId } of [rolledBack, owned]) {
        const outcome = await system.psp.authorize({
          amount: 800,
          currency: 'USD',
          token: 'tok_visa',
          reference: sagaId,
          idempotencyKey: `${sagaId}:authorize_payment`,
        });
        expect(outcome.kind).to.equal('authorized');
      }
      // One saga rolled back and ended without recording it; the other runs on (and records it).
      await system.pool.query(`UPDATE sagas SET status = 'failed', next_attempt_at = NULL WHERE saga_id = $1`, [
        rolledBack.sagaId,
      ]);
      const statusAtPsp = async (sagaId: string) =>
        (await system.pspLedger.query('SELECT authorization_id, status FROM authorizations WHERE reference = $1', [sagaId])).rows;

      const worker = new SagaWorker({
        pool: system.pool,
        reader: reader(system),
        commands: system.redis,
        psp: system.psp,
        logger: system.logger,
        ...sagaWorkerSettings(system.config),
        sweep: fast,
      });
      await worker.start();
      try {
        await eventually('the orphan voided', async () =>
          (await statusAtPsp(rolledBack.sagaId))[0]?.status === 'voided' ? true : undefined,
        );
        expect(await system.waitForFinalStatus(owned.orderId)).to.equal('confirmed');
        expect(await statusAtPsp(owned.sagaId)).to.have.length(1);
        expect((await statusAtPsp(owned.sagaId))[0].status).to.equal('authorized');

        expect((await worker.sweep.runOnce()).repaired).to.equal(0);
        const [orphan] = await statusAtPsp(rolledBack.sagaId);
        const voids = await system.pspLedger.query(
          `SELECT idempotency_key FROM idempotency WHERE operation = 'void' ORDER BY idempotency_key`,
        );
        expect(voids.rows.map((r) => r.idempotency_key)).to.deep.equal([orphanVoidKey(orphan.authorization_id)]);
      } finally {
        await worker.stop();
      }
    });
  });
});
