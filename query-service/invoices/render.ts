import type { InvoiceDocument } from '../../domain/invoice.js';
import { formatMoney } from '../../domain/money.js';

export function documentTitle(doc: InvoiceDocument): string {
  return doc.kind === 'credit_note' ? 'Credit note' : 'Invoice';
}

/** What a credit note corrects, one entry per invoice: `INV-2026-000001 lines 2, 3; INV-2026-000003`. */
export function correctedDocuments(doc: InvoiceDocument): string {
  const lines = new Map<string, number[]>();
  for (const c of doc.corrects ?? []) {
    const known = lines.get(c.number) ?? [];
    if (c.line_no !== undefined) known.push(c.line_no);
    lines.set(c.number, known);
  }
  return [...lines]
    .map(([number, nos]) => (nos.length === 0 ? number : `${number} line${nos.length > 1 ? 's' : ''} ${nos.join(', ')}`))
    .join('; ');
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** The same document as the PDF (renderInvoicePdf.ts), with the same money formatting, as a web page. */
export function renderInvoiceHtml(doc: InvoiceDocument): string {
  const money = (n: number) => escapeHtml(formatMoney(n, doc.currency));
  const rows = doc.lines
    .map(
      (l) =>
        `<tr><td>${l.line_no}</td><td>${escapeHtml(l.sku)}</td><td>${escapeHtml(l.description)}</td><td class="num">${l.quantity}</td><td class="num">${money(l.unit_price)}</td><td class="num">${money(l.line_total)}</td></tr>`,
    )
    .join('\n');
  const party = (label: string, p: InvoiceDocument['seller']) =>
    `<p><strong>${label}</strong><br>${escapeHtml(p.name)}<br>${p.address.map(escapeHtml).join('<br>')}${p.tax_id ? `<br>Tax id ${escapeHtml(p.tax_id)}` : ''}${p.customer_id ? `<br>Customer ${escapeHtml(p.customer_id)}` : ''}</p>`;
  const corrects = correctedDocuments(doc);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${documentTitle(doc)} ${escapeHtml(doc.number)}</title>
<style>td.num { text-align: right; white-space: nowrap }</style></head>
<body>
<h1>${documentTitle(doc)} ${escapeHtml(doc.number)}</h1>
<p>Issued ${escapeHtml(doc.issued_at)} · Order ${escapeHtml(doc.order_id)}</p>
${corrects ? `<p>Corrects ${escapeHtml(corrects)}</p>\n` : ''}${party('Seller', doc.seller)}
${party('Buyer', doc.buyer)}
<table border="1" cellpadding="4">
<tr><th>#</th><th>SKU</th><th>Description</th><th>Qty</th><th>Unit price</th><th>Amount</th></tr>
${rows}
</table>
<p>Subtotal ${money(doc.subtotal)}<br>Tax ${money(doc.tax_total)}<br><strong>Total ${money(doc.total)}</strong></p>
</body></html>
`;
}
