import { expect } from 'chai';
import { uniqueId } from '../support/env.js';
import { pspAuthorizations, startTestSystem, stockOf, type TestSystem } from '../support/system.js';

describe('PSP that never answers (tok_timeout): breaker, retries, deadline', function () {
  this.timeout(60_000);
  let system: TestSystem;
  // Short timings so the documented behaviour shows within a test: 300 ms per call, a 6 s deadline,
  // well beyond the breaker's 2 s before it lets a trial call through.
  const deadlineMs = 6_000;
  before(async () => {
    system = await startTestSystem({ pspTimeoutMs: 300, pspRetryDeadlineMs: deadlineMs });
  });
  after(() => system.stop());

  it('opens the breaker, retries until the deadline, then rejects with payment-unavailable and releases the stock', async () => {
    const { skus, warehouses } = await system.catalog({ prices: [1200], stock: [[5]] });
    let opened = 0;
    system.psp.breaker.on('open', () => opened++);
    const started = Date.now();
    const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 2 }], {
      payment_method: { type: 'card', token: 'tok_timeout' },
    });
    const orderId = placed.body.order_id as string;

    expect(await system.waitForFinalStatus(orderId, 20_000)).to.equal('rejected');
    expect(Date.now() - started).to.be.at.least(deadlineMs);
    expect(opened).to.be.at.least(1);
    const saga = (await system.pool.query('SELECT saga_id, step_results FROM sagas WHERE order_id = $1', [orderId])).rows[0];
    expect(saga.step_results.reject_order.reason).to.equal('payment-unavailable');
    expect(saga.step_results.authorize_payment.status).to.equal('retrying');
    expect(saga.step_results.authorize_payment.attempts).to.be.at.least(2);
    expect(saga.step_results.void_authorization.outcome).to.equal('nothing-to-void');
    expect(await stockOf(system.pool, warehouses[0]!, skus[0]!)).to.deep.equal({ on_hand: 5, reserved: 0 });
    expect(await pspAuthorizations(system, saga.saga_id)).to.deep.equal([]);
  });

  it('lets an order with a good card wait out an open breaker and still be confirmed', async () => {
    const { skus } = await system.catalog({ prices: [800], stock: [[5]] });
    // Trip the breaker by hand, as a burst of timeouts would.
    system.psp.breaker.open();
    const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }]);
    expect(await system.waitForFinalStatus(placed.body.order_id, 20_000)).to.equal('confirmed');
    const saga = (await system.pool.query('SELECT saga_id FROM sagas WHERE order_id = $1', [placed.body.order_id])).rows[0];
    expect((await pspAuthorizations(system, saga.saga_id)).map((a) => a.status)).to.deep.equal(['authorized']);
  });
});
