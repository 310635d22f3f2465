import { expect } from 'chai';
import type { InvoiceDocument } from '../../domain/invoice.js';
import { eventually, uniqueId } from '../support/env.js';
import { eventTypes, startTestSystem, type TestSystem } from '../support/system.js';

describe('refunds with credit notes (contract §4)', function () {
  this.timeout(90_000);
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem({ fulfillment: {} });
  });
  after(() => system.stop());

  /** A delivered order of two SKUs from two warehouses: two shipments, two captures, two invoices. */
  async function deliveredSplitOrder() {
    const { orderId } = await system.placeSplitOrder();
    await system.waitForStatus(orderId, ['delivered'], 30_000);
    await eventually('both captures', async () => {
      const n = await system.pool.query(`SELECT count(*)::int AS n FROM captures WHERE order_id = $1 AND status = 'captured'`, [
        orderId,
      ]);
      return n.rows[0].n === 2 ? true : undefined;
    });
    const items = await system.pool.query<{ item_id: string; sku: string }>(
      'SELECT item_id, sku FROM order_items WHERE order_id = $1 ORDER BY line_no',
      [orderId],
    );
    return { orderId, items: items.rows };
  }

  const refund = (orderId: string, body: unknown, key = uniqueId('refund')) =>
    system.post(`/api/v1/orders/${orderId}/refunds`, body, { 'Idempotency-Key': key });
  const refundSettled = (refundId: string) =>
    eventually(`refund ${refundId} settled`, async () => {
      const row = await system.pool.query<{ status: string; credit_note_id: string | null }>(
        'SELECT status, credit_note_id FROM refunds WHERE refund_id = $1',
        [refundId],
      );
      return row.rows[0]?.status === 'pending' ? undefined : row.rows[0];
    });
  const pspRefunds = async () =>
    (
      await system.pspLedger.query<{ capture_id: string; amount: number }>(
        'SELECT capture_id, amount FROM refunds ORDER BY created_at',
      )
    ).rows;

  it('refunds a line’s units with a credit note that points at the invoice line it corrects', async () => {
    const { orderId, items } = await deliveredSplitOrder();
    const answer = await refund(orderId, { items: [{ item_id: items[0]!.item_id, quantity: 1 }], reason: 'damaged' });
    expect(answer.status).to.equal(202);
    expect(answer.body).to.deep.include({ amount: 1500, status: 'pending' });
    const settled = await refundSettled(answer.body.refund_id);
    expect(settled.status).to.equal('succeeded');

    const payment = await system.pool.query('SELECT amount_captured, amount_refunded FROM payments WHERE order_id = $1', [
      orderId,
    ]);
    expect(payment.rows[0]).to.deep.equal({ amount_captured: 5100, amount_refunded: 1500 });
    const line = await system.pool.query('SELECT quantity_refunded FROM order_items WHERE item_id = $1', [items[0]!.item_id]);
    expect(line.rows[0].quantity_refunded).to.equal(1);

    const documents = (await system.get(`/api/v1/orders/${orderId}/invoices`)).body.invoices as InvoiceDocument[];
    const note = documents.find((d) => d.kind === 'credit_note')!;
    expect(note.number).to.match(/^CN-\d{4}-\d{6}$/);
    expect(note.total).to.equal(1500);
    expect(note.refund_id).to.equal(answer.body.refund_id);
    const invoice = documents.find((d) => d.kind === 'invoice' && d.lines.some((l) => l.item_id === items[0]!.item_id))!;
    expect(note.corrects).to.deep.equal([
      { invoice_id: invoice.invoice_id, number: invoice.number, line_no: 1, item_id: items[0]!.item_id },
    ]);

    const types = await eventTypes(system.pool, orderId);
    expect(types.filter((t) => t === 'refund.issued')).to.have.length(1);
    const view = await system.get(`/api/v1/orders/${orderId}?min_version=${types.length}`);
    expect(view.body.payments[0]).to.include({ amount_refunded: 1500 });
    expect(view.body.items[0]).to.include({ quantity_refunded: 1 });
    expect(view.body.refunds[0]).to.deep.include({
      status: 'succeeded',
      amount: 1500,
      credit_note: { invoice_id: note.invoice_id, number: note.number },
    });
  });

  it('refuses more than was captured (422) and more units than shipped, changing nothing', async () => {
    const { orderId, items } = await deliveredSplitOrder();
    const tooMuch = await refund(orderId, { amount: 5101, reason: 'goodwill' });
    expect(tooMuch.status).to.equal(422);
    expect(tooMuch.body.type).to.equal('/problems/refund-exceeds-captured');
    expect(tooMuch.body.refundable_amount).to.equal(5100);
    const tooMany = await refund(orderId, { items: [{ item_id: items[1]!.item_id, quantity: 4 }], reason: 'damaged' });
    expect(tooMany.status).to.equal(422);
    expect(tooMany.body.type).to.equal('/problems/refund-exceeds-shipped');
    const both = await refund(orderId, { amount: 10, items: [{ item_id: items[1]!.item_id, quantity: 1 }], reason: 'x' });
    expect(both.status).to.equal(400);
    const rows = await system.pool.query('SELECT count(*)::int AS n FROM refunds WHERE order_id = $1', [orderId]);
    expect(rows.rows[0].n).to.equal(0);
  });

  it('refunds once for the same request sent twice with one Idempotency-Key', async () => {
    const { orderId } = await deliveredSplitOrder();
    const before = (await pspRefunds()).length;
    const key = uniqueId('same-refund');
    const [first, second] = await Promise.all([
      refund(orderId, { amount: 500, reason: 'late delivery' }, key),
      refund(orderId, { amount: 500, reason: 'late delivery' }, key),
    ]);
    // The second either waits its turn (409: still in flight) or hears the first answer again.
    expect([first.status, second.status]).to.include(202);
    for (const status of [first.status, second.status]) expect([202, 409]).to.include(status);
    const again = await refund(orderId, { amount: 500, reason: 'late delivery' }, key);
    expect(again.status).to.equal(202);
    expect(again.headers.get('idempotent-replayed')).to.equal('true');
    await refundSettled(again.body.refund_id);
    const rows = await system.pool.query('SELECT count(*)::int AS n FROM refunds WHERE order_id = $1', [orderId]);
    expect(rows.rows[0].n).to.equal(1);
    expect((await pspRefunds()).length - before).to.equal(1);
  });

  it('spreads a refund larger than one capture over two captures, each refunded at the PSP', async () => {
    const { orderId } = await deliveredSplitOrder();
    const before = (await pspRefunds()).length;
    const answer = await refund(orderId, { amount: 4000, reason: 'goodwill' });
    expect(answer.status).to.equal(202);
    expect((await refundSettled(answer.body.refund_id)).status).to.equal('succeeded');
    const captures = await system.pool.query<{ amount: number; amount_refunded: number }>(
      'SELECT amount, amount_refunded FROM captures WHERE order_id = $1 ORDER BY captured_at',
      [orderId],
    );
    expect(captures.rows.reduce((s, c) => s + c.amount_refunded, 0)).to.equal(4000);
    expect(captures.rows.every((c) => c.amount_refunded <= c.amount)).to.equal(true);
    expect(captures.rows.filter((c) => c.amount_refunded > 0)).to.have.length(2);
    const atPsp = (await pspRefunds()).slice(before);
    expect(atPsp.map((r) => r.amount).reduce((s, a) => s + a, 0)).to.equal(4000);
    expect(atPsp).to.have.length(2);
    // What is left to refund is exactly captured minus refunded.
    const rest = await refund(orderId, { amount: 1101, reason: 'more' });
    expect(rest.status).to.equal(422);
    expect(rest.body.refundable_amount).to.equal(1100);
  });

  it('books what the PSP refunded when it refuses the second capture of a spread refund: partial refund, credit note for that part', async () => {
    const { orderId } = await deliveredSplitOrder();
    const captures = await system.pool.query<{ capture_id: string; psp_capture_id: string; amount: number }>(
      `SELECT capture_id, psp_capture_id, amount FROM captures WHERE order_id = $1 ORDER BY captured_at, capture_id`,
      [orderId],
    );
    const [first, second] = captures.rows;
    // The PSP will refuse any refund of the second capture (it believes it fully refunded already).
    await system.pspLedger.query('UPDATE captures SET amount_refunded = amount WHERE capture_id = $1', [second!.psp_capture_id]);
    const wanted = first!.amount + 100;

    const answer = await refund(orderId, { amount: wanted, reason: 'goodwill' });
    expect(answer.status).to.equal(202);
    const settled = await refundSettled(answer.body.refund_id);
    expect(settled.status).to.equal('partially_refunded');
    expect(settled.credit_note_id).to.be.a('string');

    // Our books say exactly what the PSP did: the first capture refunded in full, the second untouched.
    const books = await system.pool.query<{ capture_id: string; amount_refunded: number }>(
      'SELECT capture_id, amount_refunded FROM captures WHERE order_id = $1',
      [orderId],
    );
    const refundedOf = new Map(books.rows.map((c) => [c.capture_id, c.amount_refunded]));
    expect(refundedOf.get(first!.capture_id)).to.equal(first!.amount);
    expect(refundedOf.get(second!.capture_id)).to.equal(0);
    const atPsp = await system.pspLedger.query<{ amount: number }>('SELECT amount FROM refunds WHERE capture_id = $1', [
      first!.psp_capture_id,
    ]);
    expect(atPsp.rows.map((r) => r.amount)).to.deep.equal([first!.amount]);
    const payment = await system.pool.query<{ amount_refunded: number }>(
      'SELECT sum(amount_refunded)::int AS amount_refunded FROM payments WHERE order_id = $1',
      [orderId],
    );
    expect(payment.rows[0]!.amount_refunded).to.equal(first!.amount);

    const note = await system.pool.query<{ document: InvoiceDocument }>('SELECT document FROM invoices WHERE invoice_id = $1', [
      settled.credit_note_id,
    ]);
    expect(note.rows[0]!.document.total).to.equal(first!.amount);
    const issued = await system.pool.query<{ payload: { amount: number; partial: { requested_amount: number } } }>(
      `SELECT payload FROM order_events WHERE order_id = $1 AND type = 'refund.issued'`,
      [orderId],
    );
    expect(issued.rows.map((r) => [r.payload.amount, r.payload.partial.requested_amount])).to.deep.equal([
      [first!.amount, wanted],
    ]);
    expect(await eventTypes(system.pool, orderId)).to.not.include('refund.failed');
  });
});
