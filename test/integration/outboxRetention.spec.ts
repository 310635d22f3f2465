import { expect } from 'chai';
import { eventually, uniqueId } from '../support/env.js';
import { eventTypes, startTestSystem, type TestSystem } from '../support/system.js';

describe('outbox retention: delivered and acknowledged rows are deleted', function () {
  this.timeout(60_000);
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem({ env: { OUTBOX_RETENTION_MS: '0' } });
  });
  after(() => system.stop());

  it('deletes an order’s outbox rows once every sink delivered them and every group acknowledged them, keeping the event log', async () => {
    const { skus } = await system.catalog({ prices: [100], stock: [[5]] });
    const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }]);
    const orderId = placed.body.order_id as string;
    await system.waitForFinalStatus(orderId);
    const events = await eventTypes(system.pool, orderId);
    await system.get(`/api/v1/orders/${orderId}?min_version=${events.length}`);
    // A later order moves every cursor past this order's rows.
    const later = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }]);
    await system.waitForFinalStatus(later.body.order_id);

    await eventually('outbox rows deleted', async () => {
      const left = await system.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE aggregateid = $1', [
        orderId,
      ]);
      return left.rows[0]?.n === 0 ? true : undefined;
    });
    expect(await eventTypes(system.pool, orderId)).to.deep.equal(events);
  });
});
