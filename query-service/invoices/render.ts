import type { InvoiceDocument } from '../../domain/invoice.js';

/** An amount in minor units as text: `1999` USD → `19.99 USD` (two decimals; the sandbox has no zero-decimal currencies). */
export function formatMoney(amount: number, currency: string): string {
  const sign = amount < 0 ? '-' : '';
  const abs = Math.abs(amount);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')} ${currency}`;
}

function title(doc: InvoiceDocument): string {
  return doc.kind === 'credit_note' ? 'Credit note' : 'Invoice';
}

/** The document as plain lines: what both the HTML and the PDF show. */
export function invoiceLines(doc: InvoiceDocument): string[] {
  return [
    `${title(doc)} ${doc.number}`,
    `Issued ${doc.issued_at.slice(0, 10)}   Order ${doc.order_id}`,
    '',
    `Seller: ${doc.seller.name}${doc.seller.tax_id ? ` (tax id ${doc.seller.tax_id})` : ''}`,
    ...doc.seller.address.map((l) => `        ${l}`),
    `Buyer:  ${doc.buyer.name}${doc.buyer.customer_id ? ` (customer ${doc.buyer.customer_id})` : ''}`,
    ...doc.buyer.address.map((l) => `        ${l}`),
    '',
    ...doc.lines.map(
      (l) =>
        `${l.line_no}. ${l.sku}  ${l.description}  ${l.quantity} x ${formatMoney(l.unit_price, doc.currency)} = ${formatMoney(l.line_total, doc.currency)}`,
    ),
    '',
    `Subtotal: ${formatMoney(doc.subtotal, doc.currency)}`,
    `Tax:      ${formatMoney(doc.tax_total, doc.currency)}`,
    `Total:    ${formatMoney(doc.total, doc.currency)}`,
  ];
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export function renderInvoiceHtml(doc: InvoiceDocument): string {
  const money = (n: number) => escapeHtml(formatMoney(n, doc.currency));
  const rows = doc.lines
    .map(
      (l) =>
        `<tr><td>${l.line_no}</td><td>${escapeHtml(l.sku)}</td><td>${escapeHtml(l.description)}</td><td>${l.quantity}</td><td>${money(l.unit_price)}</td><td>${money(l.line_total)}</td></tr>`,
    )
    .join('\n');
  const party = (label: string, p: InvoiceDocument['seller']) =>
    `<p><strong>${label}</strong><br>${escapeHtml(p.name)}<br>${p.address.map(escapeHtml).join('<br>')}${p.tax_id ? `<br>Tax id ${escapeHtml(p.tax_id)}` : ''}</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title(doc)} ${escapeHtml(doc.number)}</title></head>
<body>
<h1>${title(doc)} ${escapeHtml(doc.number)}</h1>
<p>Issued ${escapeHtml(doc.issued_at)} · Order ${escapeHtml(doc.order_id)}</p>
${party('Seller', doc.seller)}
${party('Buyer', doc.buyer)}
<table border="1" cellpadding="4">
<tr><th>#</th><th>SKU</th><th>Description</th><th>Qty</th><th>Unit price</th><th>Amount</th></tr>
${rows}
</table>
<p>Subtotal ${money(doc.subtotal)}<br>Tax ${money(doc.tax_total)}<br><strong>Total ${money(doc.total)}</strong></p>
</body></html>
`;
}

/**
 * A one-page PDF 1.4 of the document's lines in Helvetica, written by hand (no PDF library is worth
 * a dependency for a text page): objects, a cross-reference table with their byte offsets, a trailer.
 */
export function renderInvoicePdf(doc: InvoiceDocument): Buffer {
  const text = (s: string) => s.replace(/[^\x20-\x7e]/g, '?').replace(/([\\()])/g, '\\$1');
  const lines = invoiceLines(doc).slice(0, 60);
  const content = ['BT', '/F1 10 Tf', '12 TL', '50 800 Td', ...lines.map((l) => `(${text(l)}) '`), 'ET'].join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`,
  ];
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(pdf, 'latin1'));
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(pdf, 'latin1');
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  pdf += offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}
