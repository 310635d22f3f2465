import { expect } from 'chai';
import { sellerOf } from '../../store/documents.js';
import { uuidv7 } from '../../platform/ids.js';
import { PspClient } from '../../platform/psp.js';
import { CaptureProcessor } from '../../workers/fulfillment/captureProcessor.js';
import { eventually, uniqueId } from '../support/env.js';
import { startTestSystem, type TestSystem } from '../support/system.js';

/**
 * The capture processor takes what one poll finds due as one batch (contract §5: a capture per
 * shipment, an invoice per capture): one PSP capture per capture, invoices numbered from one range.
 */
describe('captures due at once, recorded as one batch', function () {
  this.timeout(90_000);
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem({});
  });
  after(() => system.stop());

  const processor = (options: { psp?: PspClient; leaseMs?: number } = {}) =>
    new CaptureProcessor({
      pool: system.pool,
      psp: options.psp ?? system.psp,
      logger: system.logger,
      seller: sellerOf(system.config),
      pollMs: 60_000,
      ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    });

  /** A PSP client whose capture calls wait until open() (counted as they arrive): a processor held mid-batch. */
  const gatedPsp = () => {
    let open = () => undefined as void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const client = new (class extends PspClient {
      calls = 0;
      override async capture(...args: Parameters<PspClient['capture']>): ReturnType<PspClient['capture']> {
        this.calls++;
        await gate;
        return super.capture(...args);
      }
    })({ baseUrl: system.pspUrl, timeoutMs: system.config.pspTimeoutMs });
    return Object.assign(client, { open: () => open() });
  };

  /**
   * Given confirmed orders, each shipped as the fulfillment worker would leave it: shipments `shipped`,
   * one `pending` capture per shipment of its value. The first order ships its two units in two
   * shipments when split is true (two captures of one payment in the batch).
   */
  async function shippedOrders(
    count: number,
    split: boolean,
    amountOf: (index: number, value: number) => number = (_, value) => value,
  ): Promise<{ orderIds: string[]; captureIds: string[]; authorizations: string[] }> {
    const { skus, warehouses } = await system.catalog({ prices: [1250], stock: [[count * 2]] });
    const placed = await Promise.all(
      Array.from({ length: count }, () => system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 2 }])),
    );
    const orderIds = placed.map((p) => p.body.order_id as string);
    for (const id of orderIds) expect(await system.waitForFinalStatus(id, 30_000)).to.equal('confirmed');
    const captureIds: string[] = [];
    const authorizations: string[] = [];
    for (const [index, orderId] of orderIds.entries()) {
      const item = (
        await system.pool.query<{ item_id: string; sku: string; unit_price: number }>(
          'SELECT item_id, sku, unit_price FROM order_items WHERE order_id = $1',
          [orderId],
        )
      ).rows[0]!;
      const payment = (
        await system.pool.query<{ payment_id: string; authorization_code: string }>(
          'SELECT payment_id, authorization_code FROM payments WHERE order_id = $1',
          [orderId],
        )
      ).rows[0]!;
      authorizations.push(payment.authorization_code);
      for (const quantity of split && index === 0 ? [1, 1] : [2]) {
        const shipmentId = uuidv7();
        const captureId = uuidv7();
        await system.pool.query(
          `WITH s AS (
             INSERT INTO shipments (shipment_id, order_id, warehouse_id, status, shipped_at) VALUES ($1, $2, $3, 'shipped', now())
           ), i AS (
             INSERT INTO shipment_items (shipment_id, item_id, sku, quantity, unit_price) VALUES ($1, $4, $5, $6, $7)
           )
           INSERT INTO captures (capture_id, order_id, payment_id, shipment_id, amount, currency, status)
           VALUES ($8, $2, $9, $1, $10, 'USD', 'pending')`,
          [
            shipmentId,
            orderId,
            warehouses[0],
            item.item_id,
            item.sku,
            quantity,
            item.unit_price,
            captureId,
            payment.payment_id,
            amountOf(index, quantity * item.unit_price),
          ],
        );
        captureIds.push(captureId);
      }
    }
    return { orderIds, captureIds, authorizations };
  }

  const capturesAtPsp = async (authorizations: readonly string[]) =>
    (
      await system.pspLedger.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM captures WHERE authorization_id = ANY($1::uuid[])',
        [authorizations],
      )
    ).rows[0]!.n;

  const invoicesOf = async (captureIds: readonly string[]) =>
    (
      await system.pool.query<{ capture_id: string; number: string; seq: number; total: number; tx: string; doc_number: string }>(
        `SELECT capture_id, number, seq, total, xmin::text AS tx, document->>'number' AS doc_number
           FROM invoices WHERE capture_id = ANY($1::uuid[]) ORDER BY seq`,
        [captureIds],
      )
    ).rows;

  it('records every due capture in one transaction, with consecutive invoice numbers and one PSP capture each', async () => {
    const { orderIds, captureIds, authorizations } = await shippedOrders(6, true);

    expect(await processor().captureDue()).to.equal(7);

    const captures = await system.pool.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM captures WHERE capture_id = ANY($1::uuid[]) GROUP BY status',
      [captureIds],
    );
    expect(captures.rows).to.deep.equal([{ status: 'captured', n: 7 }]);
    expect(await capturesAtPsp(authorizations)).to.equal(7);

    const invoices = await invoicesOf(captureIds);
    expect(invoices.map((i) => i.capture_id)).to.have.members(captureIds);
    const first = invoices[0]!.seq;
    expect(invoices.map((i) => i.seq)).to.deep.equal(Array.from({ length: 7 }, (_, i) => first + i));
    const year = new Date().getUTCFullYear();
    expect(invoices.map((i) => i.number)).to.deep.equal(invoices.map((i) => `INV-${year}-${String(i.seq).padStart(6, '0')}`));
    expect(invoices.every((i) => i.doc_number === i.number)).to.equal(true);
    // One transaction wrote them all.
    expect(new Set(invoices.map((i) => i.tx)).size).to.equal(1);

    const events = await system.pool.query<{ order_id: string; type: string; payload: Record<string, unknown> }>(
      `SELECT order_id, type, payload FROM order_events
        WHERE order_id = ANY($1::uuid[]) AND type IN ('payment.captured', 'invoice.issued') ORDER BY order_id, seq`,
      [orderIds],
    );
    const issued = events.rows.filter((e) => e.type === 'invoice.issued');
    expect(issued.map((e) => e.payload.number)).to.have.members(invoices.map((i) => i.number));
    // The split order: two captures of one payment, the first leaving it partially captured.
    const split = events.rows.filter((e) => e.order_id === orderIds[0] && e.type === 'payment.captured');
    expect(split.map((e) => [e.payload.amount_captured, e.payload.payment_status])).to.deep.equal([
      [1250, 'partially_captured'],
      [2500, 'captured'],
    ]);
    for (const orderId of orderIds.slice(1)) {
      expect(events.rows.filter((e) => e.order_id === orderId).map((e) => e.type)).to.deep.equal([
        'payment.captured',
        'invoice.issued',
      ]);
    }
    const payments = await system.pool.query<{ amount_captured: number; status: string }>(
      'SELECT amount_captured, status FROM payments WHERE order_id = ANY($1::uuid[])',
      [orderIds],
    );
    expect(payments.rows.every((p) => p.amount_captured === 2500 && p.status === 'captured')).to.equal(true);
  });

  it('lets two processors running at once take no capture twice, even when the first one has outlived its lease', async () => {
    const { captureIds, authorizations } = await shippedOrders(12, false);
    // The first processor takes the batch and is held before its PSP calls; meanwhile the second polls.
    const held = gatedPsp();
    const first = processor({ psp: held }).captureDue();
    await eventually('the first processor at the PSP', async () => (held.calls === 12 ? true : undefined));
    // Leased to the first: the second finds nothing due.
    expect(await processor().captureDue()).to.equal(0);
    held.open();
    expect(await first).to.equal(12);

    const more = await shippedOrders(12, false);
    // No lease at all (as if the first had stalled past it): the second takes the same captures, calls
    // the PSP and records them; then the first goes on. The Idempotency-Key makes its calls answer the
    // same captures, and the recording's pending check leaves it nothing to record.
    const stalled = gatedPsp();
    const late = processor({ psp: stalled, leaseMs: 0 }).captureDue();
    await eventually('the stalled processor at the PSP', async () => (stalled.calls === 12 ? true : undefined));
    expect(await processor({ leaseMs: 0 }).captureDue()).to.equal(12);
    stalled.open();
    expect(await late).to.equal(12);
    held.shutdown();
    stalled.shutdown();

    const all = [...captureIds, ...more.captureIds];
    expect(await capturesAtPsp([...authorizations, ...more.authorizations])).to.equal(24);
    const captured = await system.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM captures WHERE capture_id = ANY($1::uuid[]) AND status = 'captured'`,
      [all],
    );
    expect(captured.rows[0]!.n).to.equal(24);
    const invoices = await invoicesOf(all);
    expect(invoices).to.have.length(24);
    expect(new Set(invoices.map((i) => i.capture_id)).size).to.equal(24);
    const events = await system.pool.query<{ type: string; n: number }>(
      `SELECT type, count(*)::int AS n FROM order_events e JOIN captures c ON c.order_id = e.order_id
        WHERE c.capture_id = ANY($1::uuid[]) AND e.type IN ('payment.captured', 'invoice.issued') GROUP BY type ORDER BY type`,
      [all],
    );
    expect(events.rows).to.deep.equal([
      { type: 'invoice.issued', n: 24 },
      { type: 'payment.captured', n: 24 },
    ]);
    await expectGaplessNumbers();
  });

  it('records the others when one capture of the batch cannot be recorded, and a refusal beside them', async () => {
    // Order 0's capture already has an invoice (its recording must fail); the PSP refuses order 1's
    // capture (more than authorized); orders 2 and 3 are fine.
    const { orderIds, captureIds, authorizations } = await shippedOrders(4, false, (index, value) =>
      index === 1 ? value * 10 : value,
    );
    await system.pool.query(
      `INSERT INTO invoices (invoice_id, number, year, seq, order_id, capture_id, currency, total, document, issued_at)
       VALUES ($1, $2, 1999, 1, $3, $4, 'USD', 2500, '{}', now())`,
      [uuidv7(), `TEST-${captureIds[0]}`, orderIds[0], captureIds[0]],
    );

    expect(await processor().captureDue()).to.equal(4);

    const status = await system.pool.query<{ capture_id: string; status: string }>(
      'SELECT capture_id, status FROM captures WHERE capture_id = ANY($1::uuid[])',
      [captureIds],
    );
    const statusOf = new Map(status.rows.map((r) => [r.capture_id, r.status]));
    expect(captureIds.map((id) => statusOf.get(id))).to.deep.equal(['pending', 'failed', 'captured', 'captured']);
    // The PSP took orders 0, 2 and 3 (order 0 is recorded when it is tried again, with the same key).
    expect(await capturesAtPsp(authorizations)).to.equal(3);
    const invoices = await invoicesOf(captureIds.slice(1));
    expect(invoices.map((i) => i.capture_id)).to.have.members(captureIds.slice(2));
    const types = await system.pool.query<{ order_id: string; type: string }>(
      `SELECT order_id, type FROM order_events
        WHERE order_id = ANY($1::uuid[]) AND (type LIKE 'payment.capture%' OR type LIKE 'invoice.%') ORDER BY order_id, seq`,
      [orderIds],
    );
    const typesOf = (orderId: string) => types.rows.filter((r) => r.order_id === orderId).map((r) => r.type);
    expect(typesOf(orderIds[0]!)).to.deep.equal([]);
    expect(typesOf(orderIds[1]!)).to.deep.equal(['payment.capture_failed']);
    expect(typesOf(orderIds[2]!)).to.deep.equal(['payment.captured', 'invoice.issued']);
    expect(typesOf(orderIds[3]!)).to.deep.equal(['payment.captured', 'invoice.issued']);
    // The failed batch gave its range back: still no gap.
    await expectGaplessNumbers();
  });

  /** Every invoice of this system this year (all tests here): numbers without gaps or duplicates. */
  async function expectGaplessNumbers(): Promise<void> {
    const year = new Date().getUTCFullYear();
    const seqs = (
      await system.pool.query<{ seq: number }>(`SELECT seq FROM invoices WHERE kind = 'invoice' AND year = $1 ORDER BY seq`, [
        year,
      ])
    ).rows.map((r) => r.seq);
    expect(seqs).to.deep.equal(Array.from({ length: seqs.length }, (_, i) => i + 1));
  }
});
