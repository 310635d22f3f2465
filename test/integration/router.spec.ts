import { expect } from 'chai';
import { uniqueId } from '../support/env.js';
import { newYorkAddress } from '../support/catalog.js';
import { eventTypes, startTestSystem, stockOf, type TestSystem } from '../support/system.js';

const LOCATIONS = {
  newark: { lat: 40.73, lon: -74.17 },
  chicago: { lat: 41.88, lon: -87.63 },
  losAngeles: { lat: 34.05, lon: -118.24 },
};

describe('router: confirmed orders become shipments (contract §5, real PostgreSQL and Redis)', function () {
  this.timeout(60_000);
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem({ router: true });
  });
  after(() => system.stop());

  const shipmentsOf = async (orderId: string) =>
    (
      await system.pool.query<{ warehouse_id: string; items: Array<{ sku: string; quantity: number }> }>(
        `SELECT s.warehouse_id, json_agg(json_build_object('sku', si.sku, 'quantity', si.quantity) ORDER BY si.sku) AS items
           FROM shipments s JOIN shipment_items si ON si.shipment_id = s.shipment_id
          WHERE s.order_id = $1 GROUP BY s.shipment_id, s.warehouse_id ORDER BY s.warehouse_id`,
        [orderId],
      )
    ).rows;
  const heldOf = async (orderId: string) =>
    (
      await system.pool.query<{ warehouse_id: string; quantity: number; assigned: boolean }>(
        `SELECT warehouse_id, sum(quantity)::int AS quantity, bool_and(shipment_id IS NOT NULL) AS assigned
           FROM reservations WHERE order_id = $1 AND status = 'held' GROUP BY warehouse_id ORDER BY warehouse_id`,
        [orderId],
      )
    ).rows;

  it('ships from the nearest warehouse when several could ship everything, moving the reservation there', async () => {
    // Placement reserves where most stock is (Los Angeles); routing moves it to Newark, nearest to New York.
    const { skus, warehouses } = await system.catalog({
      prices: [1000],
      stock: [[5], [6], [50]],
      locations: [LOCATIONS.newark, LOCATIONS.chicago, LOCATIONS.losAngeles],
    });
    const orderId = (
      await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 2 }], { shipping_address: newYorkAddress })
    ).body.order_id as string;
    expect(await system.waitForStatus(orderId, ['processing', 'rejected'])).to.equal('processing');

    expect(await shipmentsOf(orderId)).to.deep.equal([{ warehouse_id: warehouses[0], items: [{ sku: skus[0], quantity: 2 }] }]);
    expect(await heldOf(orderId)).to.deep.equal([{ warehouse_id: warehouses[0], quantity: 2, assigned: true }]);
    expect(await stockOf(system.pool, warehouses[0]!, skus[0]!)).to.deep.equal({ on_hand: 5, reserved: 2 });
    expect(await stockOf(system.pool, warehouses[2]!, skus[0]!)).to.deep.equal({ on_hand: 50, reserved: 0 });
    const types = await eventTypes(system.pool, orderId);
    expect(types.slice(-1)).to.deep.equal(['shipment.created']);
  });

  it('splits two SKUs held only in different warehouses into two shipments whose items add up to the order', async () => {
    const { skus, warehouses, orderId } = await system.placeSplitOrder({ prices: [1000, 2000], units: 4, quantities: [3, 1] });
    await system.waitForStatus(orderId, ['processing']);
    expect(await shipmentsOf(orderId)).to.have.deep.members([
      { warehouse_id: warehouses[0], items: [{ sku: skus[0], quantity: 3 }] },
      { warehouse_id: warehouses[1], items: [{ sku: skus[1], quantity: 1 }] },
    ]);
    expect((await eventTypes(system.pool, orderId)).filter((t) => t === 'shipment.created')).to.have.length(2);
  });

  it('splits a line larger than any one warehouse’s stock across warehouses, fewest shipments first', async () => {
    const { skus, warehouses } = await system.catalog({
      prices: [500],
      stock: [[4], [3], [2]],
      locations: [LOCATIONS.losAngeles, LOCATIONS.newark, LOCATIONS.chicago],
    });
    const orderId = (
      await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 7 }], { shipping_address: newYorkAddress })
    ).body.order_id as string;
    await system.waitForStatus(orderId, ['processing']);
    const shipments = await shipmentsOf(orderId);
    // Two shipments suffice (4 + 3); Chicago's 2 would need a third.
    expect(shipments.map((s) => s.warehouse_id).sort()).to.deep.equal([warehouses[0], warehouses[1]].sort());
    expect(shipments.reduce((sum, s) => sum + s.items[0]!.quantity, 0)).to.equal(7);
    expect(await stockOf(system.pool, warehouses[2]!, skus[0]!)).to.deep.equal({ on_hand: 2, reserved: 0 });
  });

  it('catches a stale snapshot when validating against live stock, and re-routes from fresh data', async () => {
    const { skus, warehouses } = await system.catalog({
      prices: [800],
      stock: [[0], [5]],
      locations: [LOCATIONS.newark, LOCATIONS.losAngeles],
    });
    // The snapshot believes the near warehouse holds 10 units it does not have.
    const snapshot = system.fulfillment!.router.snapshot;
    const fresh = await snapshot.get({ fresh: true });
    const available = new Map(fresh.available);
    available.set(warehouses[0]!, new Map([[skus[0]!, 10]]));
    snapshot.set({ ...fresh, available });
    const refreshes = snapshot.refreshes;

    const orderId = (
      await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 2 }], { shipping_address: newYorkAddress })
    ).body.order_id as string;
    await system.waitForStatus(orderId, ['processing']);
    expect(await shipmentsOf(orderId)).to.deep.equal([{ warehouse_id: warehouses[1], items: [{ sku: skus[0], quantity: 2 }] }]);
    expect(snapshot.refreshes).to.be.greaterThan(refreshes);
    expect(await stockOf(system.pool, warehouses[1]!, skus[0]!)).to.deep.equal({ on_hand: 5, reserved: 2 });
    expect(await stockOf(system.pool, warehouses[0]!, skus[0]!)).to.deep.equal({ on_hand: 0, reserved: 0 });
  });

  it('routes an order once however often order.confirmed is delivered', async () => {
    const { skus } = await system.catalog({ prices: [300], stock: [[9]] });
    const orderId = (await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }])).body.order_id as string;
    await system.waitForStatus(orderId, ['processing']);
    const confirmed = await system.pool.query<{ event_id: string }>(
      `SELECT event_id FROM order_events WHERE order_id = $1 AND type = 'order.confirmed'`,
      [orderId],
    );
    const outcome = await system.fulfillment!.router.router.routeConfirmedOrder(orderId, confirmed.rows[0]!.event_id);
    expect(outcome.kind).to.equal('skipped');
    expect(await shipmentsOf(orderId)).to.have.length(1);
  });

  it('counts the backlog live: a warehouse whose capacity fills up loses the next order to an equal one', async () => {
    // Two warehouses at the same place with the same stock; each ships 10 units a day.
    const { skus, warehouses } = await system.catalog({ prices: [100], stock: [[50], [50]] });
    await system.pool.query('UPDATE warehouses SET capacity_per_day = 10 WHERE warehouse_id = ANY($1)', [warehouses]);
    const routedTo = async () => {
      const orderId = (await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 5 }])).body.order_id as string;
      await system.waitForStatus(orderId, ['processing']);
      return (await shipmentsOf(orderId))[0]!.warehouse_id;
    };
    const first = await routedTo();
    const second = await routedTo();
    // The first order's 5 units are half of its warehouse's day; the next goes to the idle one.
    expect(second).to.not.equal(first);
    expect([first, second].sort()).to.deep.equal([...warehouses].sort());
  });
});
