import { expect } from 'chai';
import { createLogger } from '../../platform/logger.js';
import { InventorySnapshot } from '../../workers/router/inventorySnapshot.js';
import { Router, type RoutingOutcome } from '../../workers/router/router.js';
import { newYorkAddress } from '../support/catalog.js';
import { uniqueId } from '../support/env.js';
import { startTestSystem, type TestSystem } from '../support/system.js';

const NEWARK = { lat: 40.73, lon: -74.17 };
const LOS_ANGELES = { lat: 34.05, lon: -118.24 };

describe('router: confirmed orders read together are routed in one transaction (real PostgreSQL)', function () {
  this.timeout(60_000);
  let system: TestSystem;
  // No router worker: the orders stop at `confirmed`, and the test routes them itself.
  before(async () => {
    system = await startTestSystem();
  });
  after(() => system.stop());

  const newRouter = () => {
    const snapshot = new InventorySnapshot(system.pool, 30_000);
    return { snapshot, router: new Router({ pool: system.pool, snapshot, logger: createLogger('test-router', 'silent') }) };
  };

  /** Places the orders and waits until each is confirmed; answers each with its `order.confirmed` id. */
  const confirmedOrders = async (orders: ReadonlyArray<Array<{ sku: string; quantity: number }>>) => {
    const ids: string[] = [];
    for (const items of orders)
      ids.push((await system.placeOrder(uniqueId('cust'), items, { shipping_address: newYorkAddress })).body.order_id as string);
    for (const id of ids) expect(await system.waitForStatus(id, ['confirmed', 'rejected'])).to.equal('confirmed');
    const events = await system.pool.query<{ order_id: string; event_id: string }>(
      `SELECT order_id, event_id FROM order_events WHERE order_id = ANY($1::uuid[]) AND type = 'order.confirmed'`,
      [ids],
    );
    const confirmedBy = new Map(events.rows.map((r) => [r.order_id, r.event_id]));
    return ids.map((orderId) => ({ orderId, messageId: confirmedBy.get(orderId) ?? '' }));
  };

  /** Every (warehouse, sku) of the catalog: reserved equals the held reservations, and never exceeds on hand. */
  const expectStockConsistent = async (warehouses: readonly string[]) => {
    const rows = await system.pool.query<{ reserved: number; held: number; on_hand: number }>(
      `SELECT i.reserved, i.on_hand, coalesce((SELECT sum(r.quantity) FROM reservations r
                WHERE r.warehouse_id = i.warehouse_id AND r.sku = i.sku AND r.status = 'held'), 0)::int AS held
         FROM inventory i WHERE i.warehouse_id = ANY($1)`,
      [warehouses],
    );
    for (const r of rows.rows) {
      expect(r.reserved).to.equal(r.held);
      expect(r.reserved).to.be.at.most(r.on_hand);
    }
  };

  const unitsShipped = async (orderIds: readonly string[]) =>
    (
      await system.pool.query<{ order_id: string; units: number; transactions: number }>(
        `SELECT s.order_id, sum(si.quantity)::int AS units, count(DISTINCT s.xmin::text)::int AS transactions
           FROM shipments s JOIN shipment_items si ON si.shipment_id = s.shipment_id
          WHERE s.order_id = ANY($1::uuid[]) GROUP BY s.order_id`,
        [orderIds],
      )
    ).rows;

  it('routes 24 confirmed orders of two SKUs in ONE transaction, each once, with stock moved exactly', async () => {
    const { skus, warehouses } = await system.catalog({
      prices: [500, 700],
      stock: [
        [30, 30],
        [60, 60],
      ],
      locations: [NEWARK, LOS_ANGELES],
    });
    const confirmed = await confirmedOrders(
      Array.from({ length: 24 }, (_, i) => [
        { sku: skus[0]!, quantity: 1 + (i % 3) },
        { sku: skus[1]!, quantity: 1 },
      ]),
    );
    const { router } = newRouter();
    const outcomes = await router.routeConfirmedOrders(confirmed);
    expect([...outcomes.values()].map((o) => o.kind)).to.deep.equal(confirmed.map(() => 'routed'));

    const orderIds = confirmed.map((c) => c.orderId);
    const shipped = await unitsShipped(orderIds);
    expect(shipped).to.have.length(24);
    const byOrder = new Map(shipped.map((s) => [s.order_id, s.units]));
    orderIds.forEach((id, i) => expect(byOrder.get(id), `order ${i}`).to.equal(2 + (i % 3)));
    // One transaction wrote every shipment.
    const transactions = await system.pool.query<{ n: number }>(
      'SELECT count(DISTINCT xmin::text)::int AS n FROM shipments WHERE order_id = ANY($1::uuid[])',
      [orderIds],
    );
    expect(transactions.rows[0]!.n).to.equal(1);
    const statuses = await system.pool.query<{ status: string }>(
      'SELECT DISTINCT status::text FROM orders WHERE order_id = ANY($1::uuid[])',
      [orderIds],
    );
    expect(statuses.rows.map((r) => r.status)).to.deep.equal(['processing']);
    await expectStockConsistent(warehouses);

    // Delivered again, together: nothing routed twice.
    const again = await router.routeConfirmedOrders(confirmed);
    expect(new Set([...again.values()].map((o) => o.kind))).to.deep.equal(new Set(['skipped']));
    expect(await unitsShipped(orderIds)).to.have.length(24);
  });

  it('routes each order alone from fresh data when live stock does not support the plans together, never overselling', async () => {
    const { skus, warehouses } = await system.catalog({ prices: [900], stock: [[3], [40]], locations: [NEWARK, LOS_ANGELES] });
    const confirmed = await confirmedOrders(Array.from({ length: 8 }, () => [{ sku: skus[0]!, quantity: 1 }]));
    const { router, snapshot } = newRouter();
    // The snapshot believes Newark, nearest to New York, holds 50 units: it has 3.
    const fresh = await snapshot.get({ fresh: true });
    const available = new Map(fresh.available);
    available.set(warehouses[0]!, new Map([[skus[0]!, 50]]));
    snapshot.set({ ...fresh, available });
    const refreshes = snapshot.refreshes;

    const outcomes = await router.routeConfirmedOrders(confirmed);
    expect([...outcomes.values()].map((o) => o.kind)).to.deep.equal(confirmed.map(() => 'routed'));
    expect(snapshot.refreshes).to.be.greaterThan(refreshes);
    const routedTo = [...outcomes.values()].flatMap((o: RoutingOutcome) => (o.kind === 'routed' ? o.shipments : []));
    expect(routedTo.filter((s) => s.warehouse_id === warehouses[0]).length).to.be.at.most(3);
    expect(routedTo.reduce((n, s) => n + s.items.reduce((m, i) => m + i.quantity, 0), 0)).to.equal(8);
    await expectStockConsistent(warehouses);
  });

  it('leaves out an order whose cancellation was asked for, and routes the others of the batch', async () => {
    const { skus, warehouses } = await system.catalog({ prices: [400], stock: [[20]] });
    const confirmed = await confirmedOrders(Array.from({ length: 4 }, () => [{ sku: skus[0]!, quantity: 2 }]));
    const cancelled = confirmed[1]!;
    await system.pool.query('UPDATE orders SET cancel_requested_at = now() WHERE order_id = $1', [cancelled.orderId]);

    const outcomes = await newRouter().router.routeConfirmedOrders(confirmed);
    expect(outcomes.get(cancelled.messageId)).to.deep.equal({ kind: 'skipped', why: 'cancellation requested' });
    const routed = confirmed.filter((c) => c !== cancelled);
    expect(routed.map((c) => outcomes.get(c.messageId)?.kind)).to.deep.equal(['routed', 'routed', 'routed']);
    expect((await unitsShipped([cancelled.orderId])).length).to.equal(0);
    expect((await unitsShipped(routed.map((c) => c.orderId))).map((s) => s.units)).to.deep.equal([2, 2, 2]);
    // The cancelled order still holds its placement's reservation (its cancellation saga releases it).
    const held = await system.pool.query<{ n: number }>(
      `SELECT coalesce(sum(quantity), 0)::int AS n FROM reservations WHERE order_id = $1 AND status = 'held'`,
      [cancelled.orderId],
    );
    expect(held.rows[0]!.n).to.equal(2);
    await expectStockConsistent(warehouses);
  });
});
