import { expect } from 'chai';
import { eventually, uniqueId } from '../support/env.js';
import { eventTypes, pspAuthorizations, startTestSystem, stockOf, type TestSystem } from '../support/system.js';

const cancel = (system: TestSystem, orderId: string, key?: string) =>
  system.post(
    `/api/v1/orders/${orderId}/cancel`,
    { reason: 'changed my mind' },
    key === undefined ? {} : { 'Idempotency-Key': key },
  );

/** Every unit back on the shelf, the authorization voided, every line cancelled: a clean cancellation. */
async function expectCleanlyCancelled(
  system: TestSystem,
  orderId: string,
  sagaId: string,
  stock: Array<[string, string, number]>,
) {
  expect(await system.waitForStatus(orderId, ['cancelled'], 20_000)).to.equal('cancelled');
  for (const [warehouse, sku, onHand] of stock)
    expect(await stockOf(system.pool, warehouse, sku)).to.deep.equal({ on_hand: onHand, reserved: 0 });
  expect((await pspAuthorizations(system, sagaId)).map((a) => a.status)).to.deep.equal(['voided']);
  const held = await system.pool.query(`SELECT count(*)::int AS n FROM reservations WHERE order_id = $1 AND status = 'held'`, [
    orderId,
  ]);
  expect(held.rows[0].n).to.equal(0);
  const items = await system.pool.query('SELECT quantity, quantity_cancelled, status FROM order_items WHERE order_id = $1', [
    orderId,
  ]);
  for (const item of items.rows) expect(item).to.deep.include({ quantity_cancelled: item.quantity, status: 'cancelled' });
  const captures = await system.pool.query('SELECT count(*)::int AS n FROM captures WHERE order_id = $1', [orderId]);
  expect(captures.rows[0].n).to.equal(0);
  const types = await eventTypes(system.pool, orderId);
  expect(types.filter((t) => t === 'order.cancelled')).to.have.length(1);
  const view = await system.get(`/api/v1/orders/${orderId}?min_version=${types.length}`);
  expect(view.body.status).to.equal('cancelled');
  expect(view.body.cancellation).to.include({ status: 'cancelled', reason: 'changed my mind' });
  expect(view.body.payments[0].status).to.equal('voided');
}

describe('cancellation before routing (contract §4)', function () {
  this.timeout(60_000);
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem({ changes: true });
  });
  after(() => system.stop());

  it('cancels a placed order once its placement finishes: stock back, authorization voided', async () => {
    const { skus, warehouses } = await system.catalog({ prices: [1200], stock: [[5]] });
    await system.stopSagaWorkers();
    const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 2 }]);
    const orderId = placed.body.order_id as string;
    const answer = await cancel(system, orderId);
    expect(answer.status).to.equal(202);
    expect(answer.body).to.deep.include({ order_id: orderId, status: 'placed' });
    expect(answer.body.cancellation.status).to.equal('running');
    await system.startSagaWorker();
    await expectCleanlyCancelled(system, orderId, placed.body.saga.saga_id, [[warehouses[0]!, skus[0]!, 5]]);
  });

  it('cancels a confirmed order; asking again answers the current state and changes nothing', async () => {
    const { skus, warehouses } = await system.catalog({ prices: [800, 300], stock: [[4, 4]] });
    const placed = await system.placeOrder(uniqueId('cust'), [
      { sku: skus[0]!, quantity: 1 },
      { sku: skus[1]!, quantity: 3 },
    ]);
    const orderId = placed.body.order_id as string;
    expect(await system.waitForFinalStatus(orderId)).to.equal('confirmed');
    const first = await cancel(system, orderId);
    const again = await cancel(system, orderId);
    expect(first.status).to.equal(202);
    expect(again.status).to.equal(202);
    expect(again.body.cancellation.saga_id).to.equal(first.body.cancellation.saga_id);
    await expectCleanlyCancelled(system, orderId, placed.body.saga.saga_id, [
      [warehouses[0]!, skus[0]!, 4],
      [warehouses[0]!, skus[1]!, 4],
    ]);
    const done = await cancel(system, orderId);
    expect(done.status).to.equal(200);
    expect(done.body.status).to.equal('cancelled');
    expect((await eventTypes(system.pool, orderId)).filter((t) => t === 'order.cancellation_requested')).to.have.length(1);
  });

  it('refuses to cancel a rejected order, and an unknown one is 404', async () => {
    const { skus } = await system.catalog({ prices: [100], stock: [[2]] });
    const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }], {
      payment_method: { type: 'card', token: 'tok_chargeDeclined' },
    });
    const orderId = placed.body.order_id as string;
    expect(await system.waitForFinalStatus(orderId)).to.equal('rejected');
    const answer = await cancel(system, orderId);
    expect(answer.status).to.equal(409);
    expect(answer.body.type).to.equal('/problems/order-not-cancellable');
    expect((await cancel(system, '01900000-0000-7000-8000-000000000000')).status).to.equal(404);
  });
});

describe('cancellation during fulfillment (contract §4, WMS over Kafka)', function () {
  this.timeout(90_000);
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem({ fulfillment: {} });
  });
  after(() => system.stop());

  it('cancels a processing order: the WMS cancels its shipments, stock comes back, the authorization is voided', async () => {
    try {
      const { skus, warehouses, placed, orderId } = await system.placeSplitOrder({
        quantities: [2, 1],
        beforePlacing: () => system.fulfillment!.wms!.setPace(60_000), // shipments wait at the WMS
      });
      expect(await system.waitForStatus(orderId, ['processing'])).to.equal('processing');
      expect((await cancel(system, orderId)).status).to.equal(202);
      await expectCleanlyCancelled(system, orderId, placed.body.saga.saga_id, [
        [warehouses[0]!, skus[0]!, 5],
        [warehouses[1]!, skus[1]!, 5],
      ]);
      const shipments = await system.pool.query('SELECT status FROM shipments WHERE order_id = $1', [orderId]);
      expect(shipments.rows.map((s) => s.status)).to.deep.equal(['cancelled', 'cancelled']);
    } finally {
      system.fulfillment!.wms!.setPace(50);
    }
  });

  it('refuses to cancel an order whose shipment left the warehouse (409), and changes nothing', async () => {
    const { skus } = await system.catalog({ prices: [500], stock: [[3]] });
    const orderId = (await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }])).body.order_id as string;
    await system.waitForStatus(orderId, ['shipped', 'delivered']);
    const before = (await eventTypes(system.pool, orderId)).length;
    const answer = await cancel(system, orderId);
    expect(answer.status).to.equal(409);
    expect(answer.body.type).to.equal('/problems/order-not-cancellable');
    const after = await eventTypes(system.pool, orderId);
    expect(after.filter((t) => t.startsWith('order.cancel'))).to.deep.equal([]);
    expect(after.length).to.be.at.least(before);
  });

  it('lets exactly one of a cancel and a racing ship win, and leaves the order consistent either way', async () => {
    const { skus, warehouses } = await system.catalog({ prices: [1000], stock: [[40]] });
    system.fulfillment!.wms!.setPace(150);
    try {
      const orders: Array<{ orderId: string; sagaId: string }> = [];
      for (let i = 0; i < 8; i++) {
        const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }]);
        orders.push({ orderId: placed.body.order_id as string, sagaId: placed.body.saga.saga_id as string });
      }
      // Cancel each at a different moment around its shipping (picked at ~150 ms, shipped at ~450 ms).
      await Promise.all(
        orders.map(async ({ orderId }, i) => {
          await system.waitForStatus(orderId, ['processing', 'shipped', 'delivered']);
          await new Promise((resolve) => setTimeout(resolve, 60 * i));
          const answer = await cancel(system, orderId);
          expect([202, 409]).to.include(answer.status);
        }),
      );
      let cancelled = 0;
      for (const { orderId, sagaId } of orders) {
        const status = await system.waitForStatus(orderId, ['cancelled', 'delivered'], 30_000);
        const capturedOf = async () =>
          (
            await system.pool.query<{ amount: number }>(
              `SELECT amount FROM captures WHERE order_id = $1 AND status = 'captured'`,
              [orderId],
            )
          ).rows;
        // A delivered order's capture runs beside tracking: it may land after the delivery.
        const captures =
          status === 'delivered'
            ? await eventually('the shipped order captured', async () => {
                const rows = await capturedOf();
                return rows.length > 0 ? rows : undefined;
              })
            : await capturedOf();
        const types = await eventTypes(system.pool, orderId);
        if (status === 'cancelled') {
          cancelled++;
          expect(captures).to.deep.equal([]);
          expect(types).not.to.include('shipment.shipped');
          expect((await pspAuthorizations(system, sagaId)).map((a) => a.status)).to.deep.equal(['voided']);
        } else {
          expect(captures.map((c) => c.amount)).to.deep.equal([1000]);
          expect(types.filter((t) => t === 'shipment.shipped')).to.have.length(1);
          expect(types).not.to.include('order.cancelled');
        }
      }
      // Nothing is held for any of them any more, and stock adds up: 40 minus what shipped.
      const shipped = orders.length - cancelled;
      await eventually('stock settled', async () => {
        const stock = await stockOf(system.pool, warehouses[0]!, skus[0]!);
        return stock.reserved === 0 ? stock : undefined;
      });
      expect(await stockOf(system.pool, warehouses[0]!, skus[0]!)).to.deep.equal({ on_hand: 40 - shipped, reserved: 0 });
    } finally {
      system.fulfillment!.wms!.setPace(50);
    }
  });
});
