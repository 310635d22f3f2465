import { expect } from 'chai';
import { buildInvoice, buyerOf, documentNumber } from '../../domain/invoice.js';
import { formatMoney } from '../../domain/money.js';
import { renderInvoiceHtml } from '../../query-service/invoices/render.js';

const invoice = buildInvoice({
  invoice_id: '01900000-0000-7000-8000-000000000001',
  number: documentNumber('invoice', 2026, 42),
  issued_at: '2026-11-26T12:00:00.000Z',
  order_id: '01900000-0000-7000-8000-000000000002',
  shipment_id: '01900000-0000-7000-8000-000000000003',
  capture_id: '01900000-0000-7000-8000-000000000004',
  seller: { name: 'Seller (Test) Inc.', address: ['1 Main St'], tax_id: 'T-1' },
  buyer: buyerOf('cust-1', {
    name: 'Ada <Lovelace>',
    line1: '12 St James Sq',
    city: 'London',
    postal_code: 'SW1Y',
    country: 'GB',
  }),
  currency: 'USD',
  lines: [
    { item_id: 'i1', sku: 'SKU-1', description: 'Mug', quantity: 2, unit_price: 1250 },
    { item_id: 'i2', sku: 'SKU-2', description: 'Tea', quantity: 1, unit_price: 399 },
  ],
});

describe('invoices (domain and rendering)', () => {
  it('numbers documents by kind and year, zero-padded', () => {
    expect(documentNumber('invoice', 2026, 42)).to.equal('INV-2026-000042');
    expect(documentNumber('credit_note', 2027, 1)).to.equal('CN-2027-000001');
  });

  it('totals its lines', () => {
    expect(invoice.lines.map((l) => [l.line_no, l.line_total])).to.deep.equal([
      [1, 2500],
      [2, 399],
    ]);
    expect([invoice.subtotal, invoice.tax_total, invoice.total]).to.deep.equal([2899, 0, 2899]);
    expect(invoice.buyer).to.deep.equal({
      name: 'Ada <Lovelace>',
      address: ['12 St James Sq', 'SW1Y London', 'GB'],
      customer_id: 'cust-1',
    });
    expect(formatMoney(2899, 'USD')).to.equal('28.99 USD');
  });

  it('renders HTML with everything escaped', () => {
    const html = renderInvoiceHtml(invoice);
    expect(html).to.include('INV-2026-000042').and.include('Ada &lt;Lovelace&gt;').and.include('28.99 USD');
    expect(html).not.to.include('<Lovelace>');
  });

  it("prints HTML amounts with the PDF's formatting, in the currency's minor units", () => {
    const yen = buildInvoice({
      ...invoice,
      currency: 'JPY',
      lines: [{ item_id: 'i1', sku: 'SKU-1', description: 'Crème 東京', quantity: 3, unit_price: 1500 }],
    });
    expect(renderInvoiceHtml(yen)).to.include('Crème 東京').and.include('1,500 JPY').and.include('4,500 JPY');
  });
});
