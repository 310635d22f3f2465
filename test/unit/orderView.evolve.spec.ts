import { expect } from 'chai';
import { evolve, fold, type OrderViewEvent } from '../../query-service/projections/orderView/evolve.js';
import { projectionSpec } from '../support/gwt.js';

const orderView = projectionSpec(evolve);

const at = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
// Payloads hold only what a test looks at: the cast stands in for the edge's check (parseOrderEvent).
const e = (seq: number, type: string, payload: Record<string, unknown> = {}): OrderViewEvent =>
  ({
    event_id: `e${seq}`,
    order_id: 'o1',
    seq,
    type,
    occurred_at: at(seq),
    payload: { saga_id: 's1', ...payload },
  }) as unknown as OrderViewEvent;
const placed = e(1, 'order.placed', {
  customer_id: 'c1',
  channel: 'web',
  currency: 'USD',
  total_amount: 500,
  items: [{ item_id: 'i1', sku: 'A', quantity: 2, unit_price: 250 }],
});

describe('order view projection (evolve)', () => {
  it('starts with order.placed: status placed, items pending, version 1', () => {
    orderView
      .given([])
      .when([placed])
      .thenAssert((view) => {
        expect(view).to.deep.include({
          order_id: 'o1',
          status: 'placed',
          version: 1,
          customer_id: 'c1',
          total_amount: 500,
          created_at: at(1),
        });
        expect(view?.items).to.deep.equal([
          {
            item_id: 'i1',
            sku: 'A',
            quantity: 2,
            unit_price: 250,
            status: 'pending',
            quantity_shipped: 0,
            quantity_cancelled: 0,
            quantity_refunded: 0,
          },
        ]);
      });
  });

  it('ignores anything before order.placed', () => {
    orderView
      .given([])
      .when([e(2, 'order.confirmed')])
      .then(undefined);
  });

  it('follows a confirmed placement: reserved, authorized, fraud checked, confirmed', () => {
    orderView
      .given([placed])
      .when([
        e(2, 'inventory.reserved'),
        e(3, 'payment.authorized', { payment_id: 'p1', amount: 500 }),
        e(4, 'fraud.checked', { decision: 'accept', score: 0, reasons: [] }),
        e(5, 'order.confirmed'),
      ])
      .thenAssert((view) => {
        expect(view).to.deep.include({ status: 'confirmed', version: 5, updated_at: at(5) });
        expect(view?.payments).to.deep.equal([
          { payment_id: 'p1', amount_authorized: 500, amount_captured: 0, amount_refunded: 0, status: 'authorized' },
        ]);
        expect(view?.saga.status).to.equal('completed');
        expect(view?.saga.steps.map((s) => [s.name, s.status])).to.deep.equal([
          ['reserve_inventory', 'succeeded'],
          ['authorize_payment', 'succeeded'],
          ['check_fraud', 'succeeded'],
          ['confirm_order', 'succeeded'],
        ]);
        expect(view?.items[0]?.status).to.equal('reserved');
      });
  });

  it('follows a fraud rejection: payment voided, items cancelled, saga failed', () => {
    const view = fold([
      placed,
      e(2, 'inventory.reserved'),
      e(3, 'payment.authorized', { payment_id: 'p1', amount: 500 }),
      e(4, 'fraud.checked', { decision: 'reject', score: 100, reasons: ['card risk level highest'] }),
      e(5, 'payment.voided'),
      e(6, 'inventory.released'),
      e(7, 'order.rejected', { reason: 'fraud-rejected' }),
    ]);
    expect(view).to.deep.include({ status: 'rejected', version: 7 });
    expect(view?.payments[0]?.status).to.equal('voided');
    expect(view?.items[0]).to.deep.include({ status: 'cancelled', quantity_cancelled: 2 });
    expect(view?.saga).to.deep.include({ status: 'failed', current_step: 'reject_order' });
  });

  it('moves the version on an event type it does not show', () => {
    // (shipment.created with no payload before typed events; the view shows that type, and the edge now refuses it empty.)
    orderView
      .given([placed])
      .when([e(2, 'payment.capture_failed')])
      .thenAssert((view) => expect(view?.version).to.equal(2));
    // A type this code does not know yet, read from the log.
    orderView
      .given([placed])
      .when([e(2, 'test.unknownToTheView')])
      .thenAssert((view) => expect(view?.version).to.equal(2));
  });

  it('follows fulfillment: shipment created, short pick cancelled, shipped, captured, invoiced, delivered', () => {
    const unit = (quantity: number) => [{ item_id: 'i1', sku: 'A', quantity }];
    const view = fold([
      placed,
      e(2, 'inventory.reserved'),
      e(3, 'payment.authorized', { payment_id: 'p1', amount: 500 }),
      e(4, 'fraud.checked', { decision: 'accept', score: 0, reasons: [] }),
      e(5, 'order.confirmed'),
      e(6, 'shipment.created', {
        shipment_id: 's1',
        warehouse_id: 'W',
        carrier: 'ups',
        items: unit(2),
        order_status: 'processing',
      }),
      e(7, 'shipment.picked', { shipment_id: 's1', items: unit(1), short: unit(1), order_status: 'processing' }),
      e(8, 'item.cancelled', { items: unit(1), order_status: 'processing' }),
      e(9, 'shipment.packed', { shipment_id: 's1', order_status: 'processing' }),
      e(10, 'shipment.shipped', {
        shipment_id: 's1',
        carrier: 'ups',
        tracking_number: 'UPS-1',
        items: unit(1),
        order_status: 'shipped',
      }),
      e(11, 'payment.captured', {
        payment_id: 'p1',
        amount: 250,
        amount_captured: 250,
        payment_status: 'partially_captured',
        order_status: 'shipped',
      }),
      e(12, 'invoice.issued', {
        invoice_id: 'inv1',
        number: 'INV-2026-000001',
        shipment_id: 's1',
        total: 250,
        currency: 'USD',
        order_status: 'shipped',
      }),
      e(13, 'shipment.in_transit', { shipment_id: 's1', order_status: 'shipped' }),
      e(14, 'shipment.delivered', { shipment_id: 's1', order_status: 'delivered' }),
    ]);
    expect(view).to.deep.include({ status: 'delivered', version: 14 });
    expect(view?.items[0]).to.deep.include({ status: 'delivered', quantity_shipped: 1, quantity_cancelled: 1 });
    expect(view?.shipments).to.deep.equal([
      {
        shipment_id: 's1',
        warehouse_id: 'W',
        carrier: 'ups',
        tracking_number: 'UPS-1',
        status: 'delivered',
        items: unit(1),
        shipped_at: at(10),
        delivered_at: at(14),
      },
    ]);
    expect(view?.payments[0]).to.deep.include({ amount_authorized: 500, amount_captured: 250, status: 'partially_captured' });
    expect(view?.invoices).to.deep.equal([
      { invoice_id: 'inv1', number: 'INV-2026-000001', shipment_id: 's1', total: 250, currency: 'USD', issued_at: at(12) },
    ]);
  });
});
