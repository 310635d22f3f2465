import { expect } from 'chai';
import { buildInvoice, buyerOf, documentNumber, type InvoiceDocument, type InvoiceLineInput } from '../../domain/invoice.js';
import { formatMoney } from '../../domain/money.js';
import { renderInvoicePdf } from '../../query-service/invoices/renderInvoicePdf.js';
import { pdfText } from '../support/pdfText.js';

/** The invoice PDF read back as a person would copy it out: every line, amount and total, in any script. */

const DESCRIPTIONS = [
  'Crème brûlée — 東京 Ω',
  'Ελληνικός καφές, Привет',
  'Łódź Straße “quoted” ½ kg',
  'お茶 (緑茶) 抹茶',
  'Plain mug',
];

function invoiceOf(currency: string, lines: readonly InvoiceLineInput[], seq = 7): InvoiceDocument {
  return buildInvoice({
    invoice_id: `01900000-0000-7000-8000-${String(seq).padStart(12, '0')}`,
    number: documentNumber('invoice', 2026, seq),
    issued_at: '2026-11-26T12:00:00.000Z',
    order_id: '01900000-0000-7000-8000-00000000aaaa',
    shipment_id: null,
    capture_id: null,
    seller: { name: 'Seller Ωmega GmbH', address: ['Königstraße 1', '70173 Stuttgart', 'DE'], tax_id: 'DE123' },
    buyer: buyerOf('cust-ü', {
      name: 'Zoë 山田 Ōsaka',
      line1: '千代田区丸の内1-1',
      city: '東京',
      postal_code: '100-0005',
      country: 'JP',
    }),
    currency,
    lines,
  });
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A table row as pdftotext's layout mode prints it: its six cells on one line, separated by spaces. */
function rowPattern(doc: InvoiceDocument, line: InvoiceDocument['lines'][number]): RegExp {
  const cells = [
    String(line.line_no),
    line.sku,
    line.description,
    String(line.quantity),
    formatMoney(line.unit_price, doc.currency),
    formatMoney(line.line_total, doc.currency),
  ];
  return new RegExp(`^\\s*${cells.map((c) => escape(c).replace(/ /g, '\\s+')).join('\\s+')}\\s*$`);
}

const HEADER = /^\s*#\s+SKU\s+Description\s+Qty\s+Unit price\s+Amount\s*$/;

/** Where each of the document's lines, and each total, stands in the text: page and line within it. */
function locate(pages: readonly string[], pattern: RegExp): Array<{ page: number; at: number }> {
  return pages.flatMap((text, page) => text.split('\n').flatMap((line, at) => (pattern.test(line) ? [{ page, at }] : [])));
}

function expectTotals(pages: readonly string[], doc: InvoiceDocument): void {
  const last = pages.length - 1;
  for (const [label, amount] of [
    ['Subtotal', doc.subtotal],
    ['Tax', doc.tax_total],
    ['Total', doc.total],
  ] as const) {
    const found = locate(pages, new RegExp(`^\\s*${label}\\s+${escape(formatMoney(amount, doc.currency))}\\s*$`));
    expect(found, `${label} ${formatMoney(amount, doc.currency)}`).to.have.length(1);
    expect(found[0]!.page, `${label} on the last page`).to.equal(last);
  }
}

describe('invoice PDF (pdfkit with embedded Unicode fonts), read back by pdftotext', function () {
  this.timeout(60_000);

  it('prints all of 120 lines in any script across pages, the header on each page, and the totals after the last line', async () => {
    const lines = Array.from({ length: 120 }, (_, i) => ({
      item_id: `item-${i + 1}`,
      sku: `SKU-${i + 1}`,
      description: `${DESCRIPTIONS[i % DESCRIPTIONS.length]} ${i + 1}`,
      quantity: 1 + (i % 4),
      // Line 60 is large enough to need thousands separators in its amount.
      unit_price: i === 59 ? 123_456_789 : 1_250 + 37 * i,
    }));
    const doc = invoiceOf('USD', lines);
    const pages = await pdfText(await renderInvoicePdf(doc));

    expect(pages.length).to.be.greaterThan(1);
    pages.forEach((text, i) => {
      expect(text, `page ${i + 1}`).to.match(new RegExp(`Page ${i + 1} of ${pages.length}\\s*$`, 'm'));
      expect(text, `page ${i + 1}`).to.include('Invoice INV-2026-000007');
    });
    const lastRow = { page: 0, at: 0 };
    for (const line of doc.lines) {
      const found = locate(pages, rowPattern(doc, line));
      expect(found, `line ${line.line_no}: ${line.description}`).to.have.length(1);
      const row = found[0]!;
      // Each page that holds lines starts its table with the header.
      expect(locate([pages[row.page]!], HEADER), `header on page ${row.page + 1}`).to.have.length(1);
      expect(row.page * 10_000 + row.at).to.be.greaterThan(lastRow.page * 10_000 + lastRow.at);
      Object.assign(lastRow, row);
    }
    expect(formatMoney(doc.lines[59]!.unit_price, 'USD')).to.equal('1,234,567.89 USD');
    expect(doc.total).to.equal(doc.lines.reduce((sum, l) => sum + l.line_total, 0));
    expectTotals(pages, doc);
    const total = locate(pages, /^\s*Total\s/)[0]!;
    expect(total.page * 10_000 + total.at).to.be.greaterThan(lastRow.page * 10_000 + lastRow.at);

    const first = pages[0]!;
    for (const text of [
      'Seller Ωmega GmbH',
      'Königstraße 1',
      'Zoë 山田 Ōsaka',
      '千代田区丸の内1-1',
      '100-0005 東京',
      'Customer cust-ü',
    ])
      expect(first).to.include(text);
  });

  it("prints amounts in the currency's own minor units: JPY without decimals, KWD and BHD with three", async () => {
    const cases: Array<[string, number, number, string, string]> = [
      // currency, unit price, quantity, unit as printed, total as printed
      ['JPY', 1_500, 3, '1,500 JPY', '4,500 JPY'],
      ['KWD', 12_345, 2, '12.345 KWD', '24.690 KWD'],
      ['BHD', 7, 1, '0.007 BHD', '0.007 BHD'],
      ['EUR', 1_999, 1, '19.99 EUR', '19.99 EUR'],
    ];
    for (const [currency, unitPrice, quantity, unit, total] of cases) {
      const doc = invoiceOf(currency, [
        { item_id: 'i1', sku: 'TEA-1', description: '抹茶 Crème', quantity, unit_price: unitPrice },
      ]);
      const pages = await pdfText(await renderInvoicePdf(doc));
      expect(pages, currency).to.have.length(1);
      expect(formatMoney(unitPrice, currency)).to.equal(unit);
      expect(locate(pages, rowPattern(doc, doc.lines[0]!)), currency).to.have.length(1);
      expect(pages[0]).to.include(`${quantity}`).and.include(unit).and.include(total);
      expectTotals(pages, doc);
      expect(pages[0]).to.match(/Page 1 of 1\s*$/m);
    }
  });

  it('puts the totals on a page of their own when the last page of lines is full, never drops them', async () => {
    // Find a line count whose table fills the first page exactly, so the totals must move.
    for (let count = 30; count <= 60; count++) {
      const doc = invoiceOf(
        'USD',
        Array.from({ length: count }, (_, i) => ({
          item_id: `i${i}`,
          sku: `S-${i}`,
          description: 'Plain mug',
          quantity: 1,
          unit_price: 100,
        })),
      );
      const pages = await pdfText(await renderInvoicePdf(doc));
      expectTotals(pages, doc);
      const rows = doc.lines.map((line) => locate(pages, rowPattern(doc, line)));
      expect(
        rows.every((found) => found.length === 1),
        `${count} lines`,
      ).to.equal(true);
      if (pages.length === 2 && locate([pages[1]!], HEADER).length === 0) {
        expect(pages[1]).to.include('Invoice INV-2026-000007 (continued)');
        return;
      }
    }
    expect.fail('no line count between 30 and 60 left the totals alone on the second page');
  });

  it('titles a credit note as one and names the invoice lines it corrects', async () => {
    const note: InvoiceDocument = {
      ...invoiceOf('EUR', [{ item_id: 'i1', sku: 'S-1', description: 'Refund: damaged', quantity: 2, unit_price: 450 }]),
      kind: 'credit_note',
      number: documentNumber('credit_note', 2026, 3),
      corrects: [
        { invoice_id: 'a', number: 'INV-2026-000001', line_no: 1, item_id: 'i1' },
        { invoice_id: 'a', number: 'INV-2026-000001', line_no: 2, item_id: 'i2' },
        { invoice_id: 'b', number: 'INV-2026-000004' },
      ],
    };
    const [page] = await pdfText(await renderInvoicePdf(note));
    expect(page)
      .to.include('Credit note CN-2026-000003')
      .and.include('Corrects INV-2026-000001 lines 1, 2; INV-2026-000004')
      .and.match(/^\s*Total\s+9\.00 EUR\s*$/m);
  });

  it('renders the same bytes for the same document, dated by its issue time', async () => {
    const doc = invoiceOf('USD', [{ item_id: 'i1', sku: 'S-1', description: 'Crème 東京', quantity: 1, unit_price: 100 }]);
    const first = await renderInvoicePdf(doc);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await renderInvoicePdf(doc);
    expect(first.equals(second)).to.equal(true);
    expect(first.subarray(0, 8).toString('latin1')).to.equal('%PDF-1.4');
    expect(first.toString('latin1')).to.include('(D:20261126120000Z)');
  });
});
