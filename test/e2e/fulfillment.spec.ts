import { expect } from 'chai';
import { parseShortPicks } from '../../simulators/wms/shortPick.js';
import { eventually, uniqueId } from '../support/env.js';
import { bearer } from '../support/apiKeys.js';
import { newYorkAddress } from '../support/catalog.js';
import { pdfText } from '../support/pdfText.js';
import {
  eventTypes,
  placeShortPickedOrder,
  pspAuthorizations,
  startTestSystem,
  stockOf,
  type TestSystem,
} from '../support/system.js';

describe('fulfillment: routed, picked, shipped, captured, invoiced, delivered (contract §5)', function () {
  this.timeout(90_000);
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem({ fulfillment: {} });
  });
  after(() => system.stop());

  const capturesOf = async (orderId: string) =>
    (
      await system.pool.query<{ shipment_id: string; amount: number; status: string }>(
        'SELECT shipment_id, amount, status FROM captures WHERE order_id = $1 ORDER BY created_at',
        [orderId],
      )
    ).rows;
  const shipmentsOf = async (orderId: string) =>
    (
      await system.pool.query<{
        shipment_id: string;
        warehouse_id: string;
        status: string;
        items: Array<{ sku: string; quantity: number }>;
      }>(
        `SELECT s.shipment_id, s.warehouse_id, s.status,
                json_agg(json_build_object('sku', si.sku, 'quantity', si.quantity) ORDER BY si.sku) AS items
           FROM shipments s JOIN shipment_items si ON si.shipment_id = s.shipment_id
          WHERE s.order_id = $1 GROUP BY s.shipment_id ORDER BY s.warehouse_id`,
        [orderId],
      )
    ).rows;

  it('splits an order for two SKUs held in different warehouses into two shipments, captures and invoices each, and delivers it', async () => {
    const { skus, warehouses, orderId } = await system.placeSplitOrder({ extra: { shipping_address: newYorkAddress } });
    expect(await system.waitForStatus(orderId, ['delivered', 'rejected'], 30_000)).to.equal('delivered');

    const shipments = await shipmentsOf(orderId);
    expect(shipments.map((s) => [s.warehouse_id, s.status, s.items])).to.have.deep.members([
      [warehouses[0], 'delivered', [{ sku: skus[0], quantity: 2 }]],
      [warehouses[1], 'delivered', [{ sku: skus[1], quantity: 3 }]],
    ]);
    // Captures run beside tracking: a shipment may be delivered before its capture is done.
    const captures = await eventually('both shipments captured', async () => {
      const rows = await capturesOf(orderId);
      return rows.length === 2 && rows.every((c) => c.status === 'captured') ? rows : undefined;
    });
    expect(captures.map((c) => c.amount).sort()).to.deep.equal([2100, 3000]);
    const payment = (
      await system.pool.query('SELECT amount, amount_captured, status FROM payments WHERE order_id = $1', [orderId])
    ).rows;
    expect(payment).to.deep.equal([{ amount: 5100, amount_captured: 5100, status: 'captured' }]);
    // Stock left the warehouses: on hand and reserved both went down.
    expect(await stockOf(system.pool, warehouses[0]!, skus[0]!)).to.deep.equal({ on_hand: 3, reserved: 0 });
    expect(await stockOf(system.pool, warehouses[1]!, skus[1]!)).to.deep.equal({ on_hand: 2, reserved: 0 });

    const types = await eventTypes(system.pool, orderId);
    for (const type of [
      'shipment.created',
      'shipment.picked',
      'shipment.packed',
      'shipment.shipped',
      'payment.captured',
      'invoice.issued',
      'shipment.delivered',
    ])
      expect(
        types.filter((t) => t === type),
        type,
      ).to.have.length(2);
    // A delivery follows a shipment; a capture and its invoice may land after a delivery.
    expect(types.indexOf('shipment.delivered')).to.be.greaterThan(types.indexOf('shipment.shipped'));

    // The read side shows all of it.
    const version = types.length;
    const view = await system.get(`/api/v1/orders/${orderId}?min_version=${version}`);
    expect(view.body.status).to.equal('delivered');
    expect(
      view.body.items.map((i: { quantity_shipped: number; status: string }) => [i.quantity_shipped, i.status]),
    ).to.deep.equal([
      [2, 'delivered'],
      [3, 'delivered'],
    ]);
    expect(view.body.shipments).to.have.length(2);
    for (const s of view.body.shipments) {
      expect(s.status).to.equal('delivered');
      expect(s.tracking_number).to.be.a('string').and.not.equal('');
      expect(s.shipped_at).to.be.a('string');
      expect(s.delivered_at).to.be.a('string');
    }
    expect(view.body.payments[0]).to.include({ amount_authorized: 5100, amount_captured: 5100 });

    const invoices = await system.get(`/api/v1/orders/${orderId}/invoices`);
    expect(invoices.status).to.equal(200);
    expect(invoices.body.invoices).to.have.length(2);
    expect(invoices.body.invoices.map((i: { total: number }) => i.total).sort()).to.deep.equal([2100, 3000]);
    const first = invoices.body.invoices[0];
    expect(first.number).to.match(/^INV-\d{4}-\d{6}$/);
    expect(first.seller.name).to.be.a('string');
    expect(first.buyer.name).to.equal('Grace Hopper');
    const one = await system.get(`/api/v1/invoices/${first.invoice_id}`);
    expect(one.body).to.deep.equal(first);
  });

  it('renders an invoice as HTML or PDF on request', async () => {
    const { skus } = await system.catalog({ prices: [990], stock: [[3]] });
    const orderId = (
      await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }], { shipping_address: newYorkAddress })
    ).body.order_id as string;
    // The invoice follows the capture, which follows the shipment.
    const invoice = await eventually('an invoice', async () => {
      const found = (await system.get(`/api/v1/orders/${orderId}/invoices`)).body.invoices as Array<{
        invoice_id: string;
        number: string;
      }>;
      return found[0];
    });
    const url = `${system.queryUrl}/api/v1/invoices/${invoice.invoice_id}`;
    const html = await fetch(url, { headers: { Accept: 'text/html', ...bearer(system.adminKey) } });
    expect(html.headers.get('content-type')).to.match(/^text\/html/);
    expect(await html.text())
      .to.include(invoice.number)
      .and.include('9.90 USD');
    const pdf = await fetch(url, { headers: { Accept: 'application/pdf', ...bearer(system.adminKey) } });
    expect(pdf.headers.get('content-type')).to.equal('application/pdf');
    const bytes = Buffer.from(await pdf.arrayBuffer());
    expect(bytes.subarray(0, 8).toString('latin1')).to.equal('%PDF-1.4');
    expect(bytes.toString('latin1').trimEnd().endsWith('%%EOF')).to.equal(true);
    const pages = await pdfText(bytes);
    expect(pages).to.have.length(1);
    expect(pages[0])
      .to.include(`Invoice ${invoice.number}`)
      .and.match(/^\s*Total\s+9\.90 USD\s*$/m)
      .and.include('Page 1 of 1');
    const missing = await system.get(`/api/v1/invoices/${'0'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}`);
    expect(missing.status).to.equal(404);
  });

  it('re-routes a short pick to another warehouse and still ships, captures and invoices exactly what the order holds', async () => {
    const { skus, warehouses } = await system.catalog({
      prices: [1000],
      stock: [[4], [4]],
      locations: [
        { lat: 40.7, lon: -74.0 },
        { lat: 34.0, lon: -118.2 },
      ],
    });
    // The near warehouse finds one unit fewer than it should.
    system.fulfillment!.wms!.setShortPicks(parseShortPicks(`${warehouses[0]}:${skus[0]}=1`));
    const orderId = (
      await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 3 }], { shipping_address: newYorkAddress })
    ).body.order_id as string;
    expect(await system.waitForStatus(orderId, ['delivered'], 30_000)).to.equal('delivered');

    const shipments = await shipmentsOf(orderId);
    expect(shipments.map((s) => [s.warehouse_id, s.items[0]!.quantity])).to.have.deep.members([
      [warehouses[0], 2],
      [warehouses[1], 1],
    ]);
    const captures = await capturesOf(orderId);
    expect(captures.map((c) => c.amount)).to.have.members([2000, 1000]);
    const item = (
      await system.pool.query('SELECT quantity_shipped, quantity_cancelled FROM order_items WHERE order_id = $1', [orderId])
    ).rows;
    expect(item).to.deep.equal([{ quantity_shipped: 3, quantity_cancelled: 0 }]);
    // The missing unit is gone from the near warehouse's books; the far one shipped one.
    expect(await stockOf(system.pool, warehouses[0]!, skus[0]!)).to.deep.equal({ on_hand: 1, reserved: 0 });
    expect(await stockOf(system.pool, warehouses[1]!, skus[0]!)).to.deep.equal({ on_hand: 3, reserved: 0 });
    const types = await eventTypes(system.pool, orderId);
    expect(types.filter((t) => t === 'shipment.short_picked')).to.have.length(1);
    expect(types.filter((t) => t === 'invoice.issued')).to.have.length(2);
  });

  it('cancels what no warehouse has after a short pick, and captures only what shipped', async () => {
    const { skus, warehouses, orderId } = await placeShortPickedOrder(system);
    expect(await system.waitForStatus(orderId, ['delivered'], 30_000)).to.equal('delivered');

    const items = (
      await system.pool.query(
        'SELECT sku, quantity, quantity_shipped, quantity_cancelled FROM order_items WHERE order_id = $1 ORDER BY line_no',
        [orderId],
      )
    ).rows;
    expect(items).to.deep.equal([
      { sku: skus[0], quantity: 3, quantity_shipped: 1, quantity_cancelled: 2 },
      { sku: skus[1], quantity: 2, quantity_shipped: 2, quantity_cancelled: 0 },
    ]);
    const captures = await capturesOf(orderId);
    expect(captures.map((c) => c.amount)).to.deep.equal([2000]);
    const invoices = (await system.get(`/api/v1/orders/${orderId}/invoices`)).body.invoices;
    expect(invoices.map((i: { total: number }) => i.total)).to.deep.equal([2000]);
    expect(await stockOf(system.pool, warehouses[0]!, skus[0]!)).to.deep.equal({ on_hand: 0, reserved: 0 });
    const view = await system.get(`/api/v1/orders/${orderId}?min_version=${(await eventTypes(system.pool, orderId)).length}`);
    expect(view.body.items[0]).to.include({ quantity_shipped: 1, quantity_cancelled: 2 });
    expect(view.body.payments[0]).to.include({ amount_captured: 2000 });
    // Nothing more will be captured: the authorization's uncaptured rest is released, here and at the PSP.
    const released = await eventually('the uncaptured rest released', async () => {
      const payment = await system.pool.query('SELECT amount, amount_captured, status FROM payments WHERE order_id = $1', [
        orderId,
      ]);
      return payment.rows[0]?.amount === 2000 ? payment.rows[0] : undefined;
    });
    expect(released).to.deep.equal({ amount: 2000, amount_captured: 2000, status: 'captured' });
    const sagaId = (await system.pool.query(`SELECT saga_id FROM sagas WHERE order_id = $1`, [orderId])).rows[0].saga_id;
    expect((await pspAuthorizations(system, sagaId)).map((a) => a.amount)).to.deep.equal([2000]);
  });
});
