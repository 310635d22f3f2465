import PDFDocument from 'pdfkit';
import type { InvoiceDocument, Party } from '../../domain/invoice.js';
import { formatMoney } from '../../domain/money.js';
import { faceFor, type Weight } from './invoiceFonts.js';
import { correctedDocuments, documentTitle } from './render.js';

/**
 * The invoice as an A4 PDF drawn with pdfkit: the parties, then the lines as a table that breaks across
 * pages with its header repeated, then the totals (kept together, on a page of their own if need be),
 * and "Page i of N" on every page. Text is embedded Unicode fonts, so it reads back as written.
 */

const PAGE = Object.freeze({ width: 595.28, height: 841.89, margin: 50, footer: 40 });
const BODY = Object.freeze({
  left: PAGE.margin,
  right: PAGE.width - PAGE.margin,
  top: PAGE.margin,
  /** The table and the totals stop here; below is the footer. */
  bottom: PAGE.height - PAGE.margin - 20,
});
const SIZE = Object.freeze({ title: 16, text: 10, table: 9, footer: 8 });
const CELL = Object.freeze({ padX: 4, padY: 3 });

interface Column {
  readonly label: string;
  readonly width: number;
  readonly align: 'left' | 'right';
}
/**
 * Room on one line for 3-digit line numbers, unit prices under ten million and line amounts under a
 * billion (999,999,999.99 USD); a wider cell wraps and its row grows.
 */
const FIXED_WIDTH = 30 + 78 + 36 + 92 + 104;
const COLUMNS: readonly Column[] = [
  { label: '#', width: 30, align: 'right' },
  { label: 'SKU', width: 78, align: 'left' },
  { label: 'Description', width: BODY.right - BODY.left - FIXED_WIDTH, align: 'left' },
  { label: 'Qty', width: 36, align: 'right' },
  { label: 'Unit price', width: 92, align: 'right' },
  { label: 'Amount', width: 104, align: 'right' },
];

type Doc = InstanceType<typeof PDFDocument>;

const registered = new WeakMap<Doc, Set<string>>();

/** Sets the face for this text (registering it with the document on first use) and the size. */
function useFace(pdf: Doc, text: string, weight: Weight, size: number): Doc {
  const face = faceFor(text, weight);
  const names = registered.get(pdf) ?? new Set<string>();
  registered.set(pdf, names);
  if (!names.has(face.name)) {
    pdf.registerFont(face.name, face.data);
    names.add(face.name);
  }
  return pdf.font(face.name).fontSize(size);
}

/** Writes one piece of text; every caller has made room for it, so pdfkit never breaks a page itself. */
function write(
  pdf: Doc,
  text: string,
  at: { x: number; y: number; width: number; align?: 'left' | 'right' | 'center' },
  style: { weight?: Weight; size?: number } = {},
): number {
  useFace(pdf, text, style.weight ?? 'regular', style.size ?? SIZE.text);
  const options = { width: at.width, align: at.align ?? 'left', lineGap: 1 };
  const height = pdf.heightOfString(text, options);
  pdf.text(text, at.x, at.y, options);
  return height;
}

function measure(pdf: Doc, text: string, width: number, weight: Weight, size: number): number {
  return useFace(pdf, text, weight, size).heightOfString(text, { width, lineGap: 1 });
}

/**
 * A row's cells share one baseline: a cell in a face with a shallower ascent (DejaVu beside Noto Sans
 * JP) starts lower by the difference.
 */
function rowLayout(pdf: Doc, cells: readonly string[], weight: Weight): { height: number; offsets: number[] } {
  const ascents = cells.map((text) => faceFor(text, weight).ascent * SIZE.table);
  const deepest = Math.max(...ascents);
  const offsets = ascents.map((ascent) => deepest - ascent);
  const heights = cells.map((text, i) => offsets[i]! + measure(pdf, text, COLUMNS[i]!.width - 2 * CELL.padX, weight, SIZE.table));
  return { height: Math.max(...heights) + 2 * CELL.padY, offsets };
}

function drawRow(pdf: Doc, cells: readonly string[], y: number, weight: Weight, shade: boolean): number {
  const { height, offsets } = rowLayout(pdf, cells, weight);
  if (shade)
    pdf
      .rect(BODY.left, y, BODY.right - BODY.left, height)
      .fill('#eeeeee')
      .fillColor('black');
  let x = BODY.left;
  cells.forEach((text, i) => {
    const column = COLUMNS[i]!;
    write(
      pdf,
      text,
      { x: x + CELL.padX, y: y + CELL.padY + offsets[i]!, width: column.width - 2 * CELL.padX, align: column.align },
      { weight, size: SIZE.table },
    );
    x += column.width;
  });
  pdf
    .moveTo(BODY.left, y + height)
    .lineTo(BODY.right, y + height)
    .lineWidth(0.5)
    .strokeColor('#999999')
    .stroke();
  return y + height;
}

const HEADER_CELLS = COLUMNS.map((c) => c.label);

function drawParty(pdf: Doc, label: string, party: Party, x: number, y: number, width: number): number {
  let at = y;
  at += write(pdf, label, { x, y: at, width }, { weight: 'bold' });
  at += write(pdf, party.name, { x, y: at, width });
  for (const line of party.address) at += write(pdf, line, { x, y: at, width });
  if (party.tax_id) at += write(pdf, `Tax id ${party.tax_id}`, { x, y: at, width });
  if (party.customer_id) at += write(pdf, `Customer ${party.customer_id}`, { x, y: at, width });
  return at;
}

/** The first page's heading: title, dates and the two parties side by side. Returns where it ends. */
function drawHeading(pdf: Doc, doc: InvoiceDocument): number {
  const width = BODY.right - BODY.left;
  let y = BODY.top;
  y += write(pdf, `${documentTitle(doc)} ${doc.number}`, { x: BODY.left, y, width }, { weight: 'bold', size: SIZE.title });
  y += 4;
  y += write(pdf, `Issued ${doc.issued_at.slice(0, 10)}   Order ${doc.order_id}`, { x: BODY.left, y, width });
  if (doc.corrects !== undefined && doc.corrects.length > 0)
    y += write(pdf, `Corrects ${correctedDocuments(doc)}`, { x: BODY.left, y, width });
  y += 12;
  const half = width / 2 - 10;
  const sellerEnd = drawParty(pdf, 'Seller', doc.seller, BODY.left, y, half);
  const buyerEnd = drawParty(pdf, 'Buyer', doc.buyer, BODY.left + width / 2 + 10, y, half);
  return Math.max(sellerEnd, buyerEnd) + 16;
}

/** A later page's first line, so a loose page still says whose it is. */
function drawContinuation(pdf: Doc, doc: InvoiceDocument): number {
  const text = `${documentTitle(doc)} ${doc.number} (continued)`;
  return BODY.top + write(pdf, text, { x: BODY.left, y: BODY.top, width: BODY.right - BODY.left }, { weight: 'bold' }) + 8;
}

/** Subtotal, tax and total, right-aligned under the amounts; an amount never wraps, the labels move left. */
function drawTotals(pdf: Doc, doc: InvoiceDocument, y: number): void {
  const rows = [
    { label: 'Subtotal', text: formatMoney(doc.subtotal, doc.currency), weight: 'regular' },
    { label: 'Tax', text: formatMoney(doc.tax_total, doc.currency), weight: 'regular' },
    { label: 'Total', text: formatMoney(doc.total, doc.currency), weight: 'bold' },
  ] as const;
  const widths = rows.map((r) => useFace(pdf, r.text, r.weight, SIZE.text).widthOfString(r.text) + 2);
  const right = BODY.right - CELL.padX;
  const labelRight = right - Math.max(96, ...widths) - 12;
  let at = y;
  rows.forEach((row, i) => {
    const width = widths[i]!;
    write(pdf, row.text, { x: right - width, y: at, width, align: 'right' }, { weight: row.weight });
    at += write(pdf, row.label, { x: labelRight - 80, y: at, width: 80, align: 'right' }, { weight: row.weight }) + 2;
  });
}

function totalsHeight(pdf: Doc): number {
  return 3 * (measure(pdf, 'Total', 80, 'bold', SIZE.text) + 2) + 8;
}

function drawFooters(pdf: Doc, doc: InvoiceDocument): void {
  const { start, count } = pdf.bufferedPageRange();
  for (let i = start; i < start + count; i++) {
    pdf.switchToPage(i);
    // The footer sits in the bottom margin, where pdfkit would otherwise start a new page.
    const margins = pdf.page.margins;
    pdf.page.margins = { ...margins, bottom: 0 };
    const y = PAGE.height - PAGE.footer;
    const width = BODY.right - BODY.left;
    write(pdf, `${documentTitle(doc)} ${doc.number}`, { x: BODY.left, y, width }, { size: SIZE.footer });
    write(pdf, `Page ${i - start + 1} of ${count}`, { x: BODY.left, y, width, align: 'right' }, { size: SIZE.footer });
    pdf.page.margins = margins;
  }
}

function lineCells(doc: InvoiceDocument, line: InvoiceDocument['lines'][number]): string[] {
  return [
    String(line.line_no),
    line.sku,
    line.description,
    String(line.quantity),
    formatMoney(line.unit_price, doc.currency),
    formatMoney(line.line_total, doc.currency),
  ];
}

/** Renders the whole document and resolves with the PDF's bytes, the same bytes for the same document. */
export function renderInvoicePdf(doc: InvoiceDocument): Promise<Buffer> {
  const pdf = new PDFDocument({
    size: [PAGE.width, PAGE.height],
    margins: { top: PAGE.margin, left: PAGE.margin, right: PAGE.margin, bottom: PAGE.height - BODY.bottom },
    bufferPages: true,
    pdfVersion: '1.4',
    lang: 'en',
    displayTitle: true,
    // The issue time rather than now: rendering the same document twice gives the same file.
    info: {
      Title: `${documentTitle(doc)} ${doc.number}`,
      Author: doc.seller.name,
      Creator: 'OMS',
      CreationDate: new Date(doc.issued_at),
    },
  });
  const chunks: Buffer[] = [];
  const bytes = new Promise<Buffer>((resolve, reject) => {
    pdf.on('data', (chunk: Buffer) => chunks.push(chunk));
    pdf.on('end', () => resolve(Buffer.concat(chunks)));
    pdf.on('error', reject);
  });

  let y = drawHeading(pdf, doc);
  y = drawRow(pdf, HEADER_CELLS, y, 'bold', true);
  for (const line of doc.lines) {
    const cells = lineCells(doc, line);
    if (y + rowLayout(pdf, cells, 'regular').height > BODY.bottom) {
      pdf.addPage();
      y = drawRow(pdf, HEADER_CELLS, drawContinuation(pdf, doc), 'bold', true);
    }
    y = drawRow(pdf, cells, y, 'regular', false);
  }
  y += 10;
  if (y + totalsHeight(pdf) > BODY.bottom) {
    pdf.addPage();
    y = drawContinuation(pdf, doc);
  }
  drawTotals(pdf, doc, y);
  drawFooters(pdf, doc);
  pdf.end();
  return bytes;
}
