import { expect } from 'chai';
import { groupStreams, parseFields, streamForOrder } from '../../platform/streams.js';
import { eventually, uniqueId } from '../support/env.js';
import { eventTypes, pspAuthorizations, startTestSystem, stockOf, type TestSystem } from '../support/system.js';

describe('the same stream entry delivered twice', function () {
  this.timeout(60_000);
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem({ pspLatencyMs: 50 });
  });
  after(() => system.stop());

  async function placedEntry(orderId: string): Promise<string[]> {
    return eventually('order.placed on its stream', async () => {
      for (const stream of groupStreams(system.layout, 'saga')) {
        for (const [, fields] of await system.redis.xrange(stream, '-', '+')) {
          const f = parseFields(fields);
          if (f.order_id === orderId && f.type === 'order.placed') return fields;
        }
      }
      return undefined;
    });
  }

  const effects = async (orderId: string, sagaId: string) => ({
    reservations: (await system.pool.query('SELECT count(*)::int AS n FROM reservations WHERE order_id = $1', [orderId])).rows[0]
      .n,
    payments: (await system.pool.query('SELECT count(*)::int AS n FROM payments WHERE order_id = $1', [orderId])).rows[0].n,
    authorizations: (await pspAuthorizations(system, sagaId)).length,
    events: await eventTypes(system.pool, orderId),
  });

  it('has one effect when order.placed arrives again after the saga finished', async () => {
    const { skus, warehouses } = await system.catalog({ prices: [100], stock: [[5]] });
    const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 2 }]);
    const orderId = placed.body.order_id as string;
    const sagaId = placed.body.saga.saga_id as string;
    const fields = await placedEntry(orderId);
    expect(await system.waitForFinalStatus(orderId)).to.equal('confirmed');
    const before = await effects(orderId, sagaId);

    // Deliver the very same entry again, as a relay re-publishing after a crash would.
    const stream = streamForOrder(system.layout, 'saga', orderId);
    const duplicateId = await system.redis.xadd(stream, '*', ...fields);
    await system.waitUntilAcknowledged(stream, duplicateId!);
    expect(await effects(orderId, sagaId)).to.deep.equal(before);
    expect(before).to.deep.include({ reservations: 1, payments: 1, authorizations: 1 });
    expect(await stockOf(system.pool, warehouses[0]!, skus[0]!)).to.deep.equal({ on_hand: 5, reserved: 2 });
  });

  it('has one effect when two deliveries of order.placed race each other', async () => {
    await system.stopSagaWorkers();
    const { skus, warehouses } = await system.catalog({ prices: [100], stock: [[5]] });
    const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 3 }]);
    const orderId = placed.body.order_id as string;
    const sagaId = placed.body.saga.saga_id as string;
    const fields = await placedEntry(orderId);
    const stream = streamForOrder(system.layout, 'saga', orderId);
    const duplicateId = await system.redis.xadd(stream, '*', ...fields);
    // Two workers of the same group now share two copies of the entry.
    await Promise.all([system.startSagaWorker(), system.startSagaWorker()]);
    expect(await system.waitForFinalStatus(orderId)).to.equal('confirmed');
    await system.waitUntilAcknowledged(stream, duplicateId!);
    const after = await effects(orderId, sagaId);
    expect(after).to.deep.include({ reservations: 1, payments: 1, authorizations: 1 });
    expect(after.events.filter((t) => t === 'order.confirmed')).to.have.length(1);
    expect(await stockOf(system.pool, warehouses[0]!, skus[0]!)).to.deep.equal({ on_hand: 5, reserved: 3 });
  });
});
