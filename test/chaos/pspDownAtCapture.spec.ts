import { expect } from 'chai';
import { eventually, uniqueId } from '../support/env.js';
import { eventTypes, startTestSystem, type TestSystem } from '../support/system.js';

describe('the PSP down when a shipment ships', function () {
  this.timeout(60_000);
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem({ fulfillment: {} });
  });
  after(() => system.stop());

  const outage = (down: boolean) =>
    fetch(`${system.pspUrl}/v1/sandbox/outage`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ down }),
    });

  it('keeps the capture pending while the PSP fails, then captures it exactly once and invoices it once', async () => {
    const { skus } = await system.catalog({ prices: [1250], stock: [[5]] });
    system.fulfillment!.wms!.setPace(60_000);
    const orderId = (await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 2 }])).body.order_id as string;
    await system.waitForStatus(orderId, ['processing']);
    await outage(true);
    try {
      system.fulfillment!.wms!.setPace(50);
      await system.waitForStatus(orderId, ['shipped', 'delivered']);
      const failing = await eventually('a capture attempt that failed', async () => {
        const row = await system.pool.query<{ status: string; attempts: number }>(
          'SELECT status, attempts FROM captures WHERE order_id = $1',
          [orderId],
        );
        return (row.rows[0]?.attempts ?? 0) >= 1 ? row.rows[0] : undefined;
      });
      expect(failing.status).to.equal('pending');
    } finally {
      await outage(false);
    }
    const captured = await eventually(
      'the capture taken after the outage',
      async () => {
        const row = await system.pool.query<{ status: string; amount: number }>(
          'SELECT status, amount FROM captures WHERE order_id = $1',
          [orderId],
        );
        return row.rows[0]?.status === 'captured' ? row.rows : undefined;
      },
      20_000,
    );
    expect(captured).to.deep.equal([{ status: 'captured', amount: 2500 }]);
    const atPsp = await system.pspLedger.query<{ n: number }>('SELECT count(*)::int AS n FROM captures');
    expect(atPsp.rows[0]!.n).to.equal(1);
    const types = await eventTypes(system.pool, orderId);
    expect(types.filter((t) => t === 'payment.captured')).to.have.length(1);
    expect(types.filter((t) => t === 'invoice.issued')).to.have.length(1);
  });
});
