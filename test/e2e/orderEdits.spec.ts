import { expect } from 'chai';
import { newYorkAddress } from '../support/catalog.js';
import { eventually, uniqueId } from '../support/env.js';
import { eventTypes, pspAuthorizations, startTestSystem, stockOf, type TestSystem } from '../support/system.js';

describe('order edits: PATCH with If-Match, carried out by a saga (contract §4)', function () {
  this.timeout(90_000);
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem({ fulfillment: {} });
  });
  after(() => system.stop());

  const versionOf = async (orderId: string) =>
    (await system.pool.query<{ version: number }>('SELECT version FROM orders WHERE order_id = $1', [orderId])).rows[0]!.version;
  const patch = (orderId: string, body: unknown, ifMatch?: string) =>
    system.patch(`/api/v1/orders/${orderId}`, body, ifMatch === undefined ? {} : { 'If-Match': ifMatch });
  /** What a client does: read the version, send the edit, and on 412 (the order moved on) read again. */
  const patchCurrent = async (orderId: string, body: unknown) => {
    for (let attempt = 0; ; attempt++) {
      const answer = await patch(orderId, body, String(await versionOf(orderId)));
      if (answer.status !== 412 || attempt === 5) return answer;
    }
  };
  const editOutcome = (orderId: string) =>
    eventually(`edit of ${orderId} finished`, async () => {
      const saga = await system.pool.query<{ status: string }>(
        `SELECT status FROM sagas WHERE order_id = $1 AND saga_type = 'modification' ORDER BY created_at DESC LIMIT 1`,
        [orderId],
      );
      const status = saga.rows[0]?.status;
      return status === 'completed' || status === 'failed' ? status : undefined;
    });
  const itemsOf = async (orderId: string) =>
    (
      await system.pool.query<{
        item_id: string;
        sku: string;
        quantity: number;
        quantity_cancelled: number;
        quantity_shipped: number;
        status: string;
      }>(
        'SELECT item_id, sku, quantity, quantity_cancelled, quantity_shipped, status FROM order_items WHERE order_id = $1 ORDER BY line_no',
        [orderId],
      )
    ).rows;

  it('refuses an edit without If-Match (428) or with a stale version (412), changing nothing', async () => {
    const { skus } = await system.catalog({ prices: [1000], stock: [[5]] });
    system.fulfillment!.wms!.setPace(60_000);
    try {
      const orderId = (await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }])).body.order_id as string;
      await system.waitForStatus(orderId, ['processing']);
      const items = await itemsOf(orderId);
      const missing = await patch(orderId, { items: [{ item_id: items[0]!.item_id, quantity: 2 }] });
      expect(missing.status).to.equal(428);
      const stale = await patch(orderId, { items: [{ item_id: items[0]!.item_id, quantity: 2 }] }, '1');
      expect(stale.status).to.equal(412);
      expect(stale.body.type).to.equal('/problems/version-mismatch');
      expect(stale.body.current_version).to.equal(await versionOf(orderId));
      // RFC 9110: any well-formed entity tag that names no version of the order fails the precondition (a
      // weak tag too: If-Match compares strongly); only a value that is no entity tag is a bad request.
      const current = await versionOf(orderId);
      for (const tag of ['"0"', '"abc"', `W/"${orderId}:${current}"`, `"${current}x"`, '"1", "2"']) {
        const answer = await patch(orderId, { items: [{ item_id: items[0]!.item_id, quantity: 2 }] }, tag);
        expect(answer.status, tag).to.equal(412);
        expect(answer.body.type, tag).to.equal('/problems/version-mismatch');
      }
      const notATag = await patch(orderId, { items: [{ item_id: items[0]!.item_id, quantity: 2 }] }, 'version 1');
      expect(notATag.status).to.equal(400);
      expect(notATag.body.errors[0].header).to.equal('If-Match');
      expect(await itemsOf(orderId)).to.deep.equal(items);
      expect((await eventTypes(system.pool, orderId)).filter((t) => t.startsWith('order.modif'))).to.deep.equal([]);
    } finally {
      system.fulfillment!.wms!.setPace(50);
    }
  });

  it('raises a quantity: reserves more, authorizes the difference, and ships and captures the new total', async () => {
    const { skus, warehouses } = await system.catalog({ prices: [1000, 500], stock: [[10, 10]] });
    system.fulfillment!.wms!.setPace(60_000);
    let orderId: string;
    try {
      orderId = (await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }])).body.order_id as string;
      await system.waitForStatus(orderId, ['processing']);
      const [line] = await itemsOf(orderId);
      const answer = await patch(
        orderId,
        {
          items: [
            { item_id: line!.item_id, quantity: 3 },
            { sku: skus[1]!, quantity: 1 },
          ],
        },
        String(await versionOf(orderId)),
      );
      expect(answer.status).to.equal(202);
      expect(answer.body.modification).to.deep.include({ previous_total: 1000, new_total: 3500 });
      expect(await editOutcome(orderId)).to.equal('completed');
      expect((await itemsOf(orderId)).map((i) => [i.sku, i.quantity])).to.deep.equal([
        [skus[0], 3],
        [skus[1], 1],
      ]);
      expect(await stockOf(system.pool, warehouses[0]!, skus[1]!)).to.deep.equal({ on_hand: 10, reserved: 1 });
      const payments = await system.pool.query('SELECT amount, status FROM payments WHERE order_id = $1 ORDER BY created_at', [
        orderId,
      ]);
      expect(payments.rows.map((p) => p.amount)).to.deep.equal([1000, 2500]);
      expect(await stockOf(system.pool, warehouses[0]!, skus[0]!)).to.deep.equal({ on_hand: 10, reserved: 3 });
    } finally {
      system.fulfillment!.wms!.setPace(50);
    }
    expect(await system.waitForStatus(orderId, ['delivered'], 30_000)).to.equal('delivered');
    await eventually('captures of the new total', async () => {
      const captured = await system.pool.query<{ total: number }>(
        `SELECT coalesce(sum(amount), 0)::bigint AS total FROM captures WHERE order_id = $1 AND status = 'captured'`,
        [orderId],
      );
      return captured.rows[0]!.total === 3500 ? true : undefined;
    });
    const types = await eventTypes(system.pool, orderId);
    expect(types).to.include('order.modified');
    const view = await system.get(`/api/v1/orders/${orderId}?min_version=${types.length}`);
    expect(view.body).to.deep.include({ total_amount: 3500, status: 'delivered' });
    expect(view.body.items[0]).to.include({ quantity: 3, quantity_shipped: 3 });
    expect(view.body.items[1]).to.include({ sku: skus[1], quantity: 1, quantity_shipped: 1 });
    expect(view.body.payments.map((p: { amount_captured: number }) => p.amount_captured)).to.deep.equal([1000, 2500]);
  });

  it('leaves the order exactly as it was when the PSP declines the increase', async () => {
    const { skus, warehouses } = await system.catalog({ prices: [40_000_000], stock: [[10]] });
    system.fulfillment!.wms!.setPace(60_000);
    try {
      const orderId = (await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }])).body.order_id as string;
      await system.waitForStatus(orderId, ['processing']);
      const before = await itemsOf(orderId);
      const stockBefore = await stockOf(system.pool, warehouses[0]!, skus[0]!);
      // Three more units at 400 000.00 each: above the sandbox card's limit, so declined.
      const answer = await patch(
        orderId,
        { items: [{ item_id: before[0]!.item_id, quantity: 4 }] },
        String(await versionOf(orderId)),
      );
      expect(answer.status).to.equal(202);
      expect(await editOutcome(orderId)).to.equal('failed');
      await eventually('the order routed again', async () => {
        const open = await system.pool.query(`SELECT 1 FROM shipments WHERE order_id = $1 AND status = 'created'`, [orderId]);
        return open.rows.length > 0 ? true : undefined;
      });
      expect(await itemsOf(orderId)).to.deep.equal(before.map((i) => ({ ...i, status: 'allocated' })));
      expect(await stockOf(system.pool, warehouses[0]!, skus[0]!)).to.deep.equal(stockBefore);
      const order = await system.pool.query('SELECT total_amount, status::text FROM orders WHERE order_id = $1', [orderId]);
      expect(order.rows[0]).to.deep.equal({ total_amount: 40_000_000, status: 'processing' });
      const payments = await system.pool.query('SELECT amount, status FROM payments WHERE order_id = $1', [orderId]);
      expect(payments.rows).to.deep.equal([{ amount: 40_000_000, status: 'authorized' }]);
      const types = await eventTypes(system.pool, orderId);
      expect(types).to.include('order.modification_rejected');
      expect(types).not.to.include('order.modified');
    } finally {
      system.fulfillment!.wms!.setPace(50);
    }
  });

  it('removes a line after another line shipped: its shipment cancelled, stock and total back; the shipped line refused', async () => {
    try {
      const { skus, warehouses, orderId } = await system.placeSplitOrder({
        prices: [1000, 250],
        quantities: [1, 2],
        beforePlacing: (catalog) => system.fulfillment!.wms!.holdWarehouses([catalog.warehouses[1]!]),
      });
      expect(await system.waitForStatus(orderId, ['partially_shipped'])).to.equal('partially_shipped');
      const lines = await itemsOf(orderId);
      // A partially shipped order can no longer be cancelled, only changed line by line.
      expect((await system.post(`/api/v1/orders/${orderId}/cancel`, {})).status).to.equal(409);

      const shippedLine = await patchCurrent(orderId, { items: [{ item_id: lines[0]!.item_id, quantity: 0 }] });
      expect(shippedLine.status).to.equal(409);
      expect(shippedLine.body.type).to.equal('/problems/line-already-shipped');

      const removed = await patchCurrent(orderId, { remove_items: [lines[1]!.item_id] });
      expect(removed.status).to.equal(202);
      expect(await editOutcome(orderId)).to.equal('completed');
      expect((await itemsOf(orderId))[1]).to.include({ quantity_cancelled: 2, status: 'removed' });
      expect(await stockOf(system.pool, warehouses[1]!, skus[1]!)).to.deep.equal({ on_hand: 5, reserved: 0 });
      const shipments = await system.pool.query(
        'SELECT warehouse_id, status FROM shipments WHERE order_id = $1 ORDER BY created_at',
        [orderId],
      );
      expect(shipments.rows.find((r) => r.warehouse_id === warehouses[1])?.status).to.equal('cancelled');
      const order = await system.pool.query('SELECT total_amount FROM orders WHERE order_id = $1', [orderId]);
      expect(order.rows[0].total_amount).to.equal(1000);
      expect(await system.waitForStatus(orderId, ['delivered'], 30_000)).to.equal('delivered');
      const captured = await system.pool.query(`SELECT sum(amount)::bigint AS total FROM captures WHERE order_id = $1`, [
        orderId,
      ]);
      expect(captured.rows[0].total).to.equal(1000);
      // The authorization shrank by what the order no longer costs: at the PSP and in our books.
      const payments = await system.pool.query('SELECT amount, amount_captured FROM payments WHERE order_id = $1', [orderId]);
      expect(payments.rows).to.deep.equal([{ amount: 1000, amount_captured: 1000 }]);
      const sagaId = (
        await system.pool.query(`SELECT saga_id FROM sagas WHERE order_id = $1 AND saga_type = 'placement'`, [orderId])
      ).rows[0].saga_id;
      expect((await pspAuthorizations(system, sagaId)).map((a) => a.amount)).to.deep.equal([1000]);
      expect(await eventTypes(system.pool, orderId)).to.include('payment.released');
    } finally {
      system.fulfillment!.wms!.holdWarehouses([]);
    }
  });

  it('changes the shipping address: open shipments are cancelled at the WMS and routed again for the new address', async () => {
    const { skus, warehouses } = await system.catalog({
      prices: [900],
      stock: [[5], [5]],
      locations: [
        { lat: 40.73, lon: -74.17 },
        { lat: 34.05, lon: -118.24 },
      ],
    });
    system.fulfillment!.wms!.setPace(60_000);
    try {
      const orderId = (
        await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 2 }], { shipping_address: newYorkAddress })
      ).body.order_id as string;
      await system.waitForStatus(orderId, ['processing']);
      const shipmentsAt = async () =>
        (
          await system.pool.query<{ warehouse_id: string; status: string }>(
            'SELECT warehouse_id, status FROM shipments WHERE order_id = $1 ORDER BY created_at',
            [orderId],
          )
        ).rows;
      expect(await shipmentsAt()).to.deep.equal([{ warehouse_id: warehouses[0], status: 'created' }]);
      const losAngeles = {
        name: 'Grace Hopper',
        line1: '1 Main St',
        city: 'Los Angeles',
        postal_code: '90012',
        country: 'US',
        lat: 34.05,
        lon: -118.24,
      };
      const answer = await patchCurrent(orderId, { shipping_address: losAngeles });
      expect(answer.status).to.equal(202);
      expect(await editOutcome(orderId)).to.equal('completed');
      await eventually('routed to Los Angeles', async () => {
        const shipments = await shipmentsAt();
        return shipments.length === 2 ? shipments : undefined;
      });
      expect(await shipmentsAt()).to.deep.equal([
        { warehouse_id: warehouses[0], status: 'cancelled' },
        { warehouse_id: warehouses[1], status: 'created' },
      ]);
      expect(await stockOf(system.pool, warehouses[0]!, skus[0]!)).to.deep.equal({ on_hand: 5, reserved: 0 });
      expect(await stockOf(system.pool, warehouses[1]!, skus[0]!)).to.deep.equal({ on_hand: 5, reserved: 2 });
      const order = await system.pool.query(
        `SELECT shipping_address->>'city' AS city, total_amount FROM orders WHERE order_id = $1`,
        [orderId],
      );
      expect(order.rows[0]).to.deep.equal({ city: 'Los Angeles', total_amount: 1800 });
    } finally {
      system.fulfillment!.wms!.setPace(50);
    }
  });
});
