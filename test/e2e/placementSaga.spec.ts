import { expect } from 'chai';
import { uniqueId } from '../support/env.js';
import { eventTypes, pspAuthorizations, startTestSystem, stockOf, type TestSystem } from '../support/system.js';

describe('placement saga: placed → confirmed or rejected (contract §5)', function () {
  this.timeout(60_000);
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem({ pspTimeoutMs: 300, pspRetryDeadlineMs: 2_000 });
  });
  after(() => system.stop());

  const sagaOf = async (orderId: string) =>
    (await system.pool.query('SELECT saga_id, status, current_step, step_results FROM sagas WHERE order_id = $1', [orderId]))
      .rows[0];

  it('confirms an order with stock, a good card and no fraud signal, recording every step', async () => {
    const { skus, warehouses } = await system.catalog({ prices: [1500, 700], stock: [[5, 5]] });
    const placed = await system.placeOrder(uniqueId('cust'), [
      { sku: skus[0]!, quantity: 2 },
      { sku: skus[1]!, quantity: 1 },
    ]);
    expect(placed.status).to.equal(202);
    const orderId = placed.body.order_id as string;

    expect(await system.waitForFinalStatus(orderId)).to.equal('confirmed');
    const types = await eventTypes(system.pool, orderId);
    expect(types[0]).to.equal('order.placed');
    expect(types[1]).to.equal('inventory.reserved');
    expect(types.slice(2, 4)).to.have.members(['payment.authorized', 'fraud.checked']);
    expect(types[4]).to.equal('order.confirmed');
    expect(types).to.have.length(5);

    const saga = await sagaOf(orderId);
    expect(saga).to.include({ status: 'completed', current_step: 'confirm_order' });
    expect(Object.keys(saga.step_results)).to.have.members([
      'reserve_inventory',
      'authorize_payment',
      'check_fraud',
      'confirm_order',
    ]);
    expect(await stockOf(system.pool, warehouses[0]!, skus[0]!)).to.deep.equal({ on_hand: 5, reserved: 2 });
    const auths = await pspAuthorizations(system, saga.saga_id);
    expect(auths.map((a) => [a.status, a.amount])).to.deep.equal([['authorized', 3700]]);
    const order = await system.get(`/api/v1/orders/${orderId}?min_version=5`);
    expect(order.body).to.include({ status: 'confirmed', version: 5 });
    expect(order.body.payments).to.have.length(1);
  });

  it('rejects a declined card and gives the stock back', async () => {
    const { skus, warehouses } = await system.catalog({ prices: [1000], stock: [[3]] });
    const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 2 }], {
      payment_method: { type: 'card', token: 'tok_chargeDeclined' },
    });
    const orderId = placed.body.order_id as string;
    expect(await system.waitForFinalStatus(orderId)).to.equal('rejected');

    expect(await stockOf(system.pool, warehouses[0]!, skus[0]!)).to.deep.equal({ on_hand: 3, reserved: 0 });
    const types = await eventTypes(system.pool, orderId);
    expect(types).to.include.members(['payment.declined', 'inventory.released', 'order.rejected']);
    expect(types).not.to.include('payment.authorized');
    const saga = await sagaOf(orderId);
    expect(saga.status).to.equal('failed');
    expect(saga.step_results.reject_order.reason).to.equal('payment-declined');
    expect(await pspAuthorizations(system, saga.saga_id)).to.deep.equal([]);
    const held = await system.pool.query(`SELECT count(*)::int AS n FROM reservations WHERE order_id = $1 AND status = 'held'`, [
      orderId,
    ]);
    expect(held.rows[0].n).to.equal(0);
  });

  // The PSP refuses (400) a token our schema accepts and an amount of 0: a refusal will not change on
  // retry, so it is a decline, not a saga re-driven forever while the order holds its stock.
  for (const [what, price, token] of [
    ['a card token the PSP does not know', 1000, 'x'],
    ['an order whose total is 0', 0, 'tok_visa'],
  ] as const) {
    it(`rejects ${what} at once as declined, with the stock back`, async () => {
      const { skus, warehouses } = await system.catalog({ prices: [price], stock: [[3]] });
      const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }], {
        payment_method: { type: 'card', token },
      });
      expect(placed.status).to.equal(202);
      const orderId = placed.body.order_id as string;
      expect(await system.waitForFinalStatus(orderId)).to.equal('rejected');
      expect(await stockOf(system.pool, warehouses[0]!, skus[0]!)).to.deep.equal({ on_hand: 3, reserved: 0 });
      const saga = await sagaOf(orderId);
      expect(saga.status).to.equal('failed');
      expect(saga.step_results.reject_order.reason).to.equal('payment-declined');
      expect(saga.step_results.authorize_payment).to.deep.include({ status: 'failed' });
      expect(saga.step_results.authorize_payment.code).to.match(/^refused_400_/);
      expect(await eventTypes(system.pool, orderId)).to.include.members(['payment.declined', 'order.rejected']);
    });
  }

  it('rejects on a fraud signal, voiding the authorization and releasing the stock', async () => {
    const { skus, warehouses } = await system.catalog({ prices: [2500], stock: [[4]] });
    const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }], {
      payment_method: { type: 'card', token: 'tok_riskLevelHighest' },
    });
    const orderId = placed.body.order_id as string;
    expect(await system.waitForFinalStatus(orderId)).to.equal('rejected');

    const saga = await sagaOf(orderId);
    expect(saga.step_results.reject_order.reason).to.equal('fraud-rejected');
    expect(saga.step_results.check_fraud.reasons).to.include('card risk level highest');
    const auths = await pspAuthorizations(system, saga.saga_id);
    expect(auths.map((a) => a.status)).to.deep.equal(['voided']);
    expect(await stockOf(system.pool, warehouses[0]!, skus[0]!)).to.deep.equal({ on_hand: 4, reserved: 0 });
    const types = await eventTypes(system.pool, orderId);
    expect(types.indexOf('payment.voided')).to.be.lessThan(types.indexOf('inventory.released'));
    expect(types.at(-1)).to.equal('order.rejected');
    const payment = await system.pool.query('SELECT status FROM payments WHERE order_id = $1', [orderId]);
    expect(payment.rows).to.deep.equal([{ status: 'voided' }]);
  });

  it('lets a repeat customer with a confirmed order on the same card skip the fraud check', async () => {
    const { skus } = await system.catalog({ prices: [900], stock: [[10]] });
    const customer = uniqueId('cust');
    const first = await system.placeOrder(customer, [{ sku: skus[0]!, quantity: 1 }]);
    expect(await system.waitForFinalStatus(first.body.order_id)).to.equal('confirmed');
    expect((await sagaOf(first.body.order_id)).step_results.check_fraud.status).to.equal('succeeded');

    const second = await system.placeOrder(customer, [{ sku: skus[0]!, quantity: 1 }]);
    expect(await system.waitForFinalStatus(second.body.order_id)).to.equal('confirmed');
    const fraud = (await sagaOf(second.body.order_id)).step_results.check_fraud;
    expect(fraud.status).to.equal('skipped');
    expect(fraud.reason).to.match(/repeat customer/);

    const otherCard = await system.placeOrder(customer, [{ sku: skus[0]!, quantity: 1 }], {
      payment_method: { type: 'card', token: 'tok_mastercard' },
    });
    expect(await system.waitForFinalStatus(otherCard.body.order_id)).to.equal('confirmed');
    expect((await sagaOf(otherCard.body.order_id)).step_results.check_fraud.status).to.equal('succeeded');
  });

  it('confirms exactly 10 of 50 concurrent orders for the last 10 units, never overselling', async () => {
    const { skus, warehouses } = await system.catalog({ prices: [100], stock: [[6], [4]] });
    const placed = await Promise.all(
      Array.from({ length: 50 }, () => system.placeOrder(uniqueId('rush'), [{ sku: skus[0]!, quantity: 1 }])),
    );
    const accepted = placed.filter((r) => r.status === 202).map((r) => r.body.order_id as string);
    for (const refused of placed.filter((r) => r.status !== 202)) {
      expect(refused.status).to.equal(409);
      expect(refused.body.type).to.match(/insufficient-stock$/);
    }
    const finals = await Promise.all(accepted.map((id) => system.waitForFinalStatus(id, 30_000)));
    expect(finals.filter((s) => s === 'confirmed')).to.have.length(10);
    const a = await stockOf(system.pool, warehouses[0]!, skus[0]!);
    const b = await stockOf(system.pool, warehouses[1]!, skus[0]!);
    expect([a, b]).to.deep.equal([
      { on_hand: 6, reserved: 6 },
      { on_hand: 4, reserved: 4 },
    ]);
    const rejected = await system.pool.query(
      `SELECT count(*)::int AS n FROM sagas WHERE order_id = ANY($1::uuid[]) AND step_results->'reject_order'->>'reason' = 'insufficient-stock'`,
      [accepted],
    );
    expect(rejected.rows[0].n).to.equal(accepted.length - 10);
  });

  it('has the full event history of an order at GET /api/v1/orders/{id}: version equals the number of events', async () => {
    const { skus } = await system.catalog({ prices: [100], stock: [[1]] });
    const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }]);
    await system.waitForFinalStatus(placed.body.order_id);
    const types = await eventTypes(system.pool, placed.body.order_id);
    const order = await system.get(`/api/v1/orders/${placed.body.order_id}?min_version=${types.length}`);
    expect(order.body.version).to.equal(types.length);
  });
});
