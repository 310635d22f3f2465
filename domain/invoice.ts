import { multiply } from './money.js';

/**
 * Invoices (contract §5: one per capture), pure. A document is built whole when it is issued and never
 * changes afterwards; its number comes from a gapless per-year counter the caller holds locked.
 */
export const DocumentKind = Object.freeze({ invoice: 'invoice', creditNote: 'credit_note' } as const);
export type DocumentKindName = (typeof DocumentKind)[keyof typeof DocumentKind];

const PREFIX: Readonly<Record<DocumentKindName, string>> = Object.freeze({ invoice: 'INV', credit_note: 'CN' });

/** `INV-2026-000042`: kind, year, then the number within the year, without gaps. */
export function documentNumber(kind: DocumentKindName, year: number, seq: number): string {
  return `${PREFIX[kind]}-${year}-${String(seq).padStart(6, '0')}`;
}

export interface Party {
  readonly name: string;
  readonly address: readonly string[];
  readonly tax_id?: string;
  readonly customer_id?: string;
}

export interface InvoiceLineInput {
  readonly item_id: string;
  readonly sku: string;
  readonly description: string;
  readonly quantity: number;
  readonly unit_price: number;
}

export interface InvoiceLine extends InvoiceLineInput {
  readonly line_no: number;
  readonly line_total: number;
}

export interface InvoiceDocument {
  readonly invoice_id: string;
  readonly kind: DocumentKindName;
  readonly number: string;
  readonly issued_at: string;
  readonly order_id: string;
  readonly shipment_id: string | null;
  readonly capture_id: string | null;
  readonly seller: Party;
  readonly buyer: Party;
  readonly currency: string;
  readonly lines: readonly InvoiceLine[];
  readonly subtotal: number;
  /** No tax model yet: recorded explicitly as zero rather than left out. */
  readonly tax_total: number;
  readonly total: number;
  /** A credit note's refund, and the invoice lines (or whole invoices) it corrects. */
  readonly refund_id?: string;
  readonly corrects?: ReadonlyArray<{ invoice_id: string; number: string; line_no?: number; item_id?: string }>;
}

export function buildInvoice(input: {
  invoice_id: string;
  kind?: DocumentKindName;
  number: string;
  issued_at: string;
  order_id: string;
  shipment_id: string | null;
  capture_id: string | null;
  seller: Party;
  buyer: Party;
  currency: string;
  lines: readonly InvoiceLineInput[];
}): InvoiceDocument {
  const lines = input.lines.map((l, i) => ({ ...l, line_no: i + 1, line_total: multiply(l.unit_price, l.quantity) }));
  const subtotal = lines.reduce((sum, l) => sum + l.line_total, 0);
  return {
    invoice_id: input.invoice_id,
    kind: input.kind ?? DocumentKind.invoice,
    number: input.number,
    issued_at: input.issued_at,
    order_id: input.order_id,
    shipment_id: input.shipment_id,
    capture_id: input.capture_id,
    seller: input.seller,
    buyer: input.buyer,
    currency: input.currency,
    lines,
    subtotal,
    tax_total: 0,
    total: subtotal,
  };
}

/** The buyer as an invoice names them: the billing address when there is one, else the shipping one. */
export function buyerOf(
  customerId: string,
  address: { name: string; line1: string; line2?: string; city: string; postal_code: string; country: string },
): Party {
  const lines = [address.line1, address.line2, `${address.postal_code} ${address.city}`, address.country].filter(
    (l): l is string => typeof l === 'string' && l.length > 0,
  );
  return { name: address.name, address: lines, customer_id: customerId };
}
