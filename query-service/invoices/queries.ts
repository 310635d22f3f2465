import type { InvoiceDocument } from '../../domain/invoice.js';
import type { Queryable } from '../../platform/db.js';

/**
 * Invoices are immutable documents, written whole once when issued: the query service reads them as it
 * reads the event log, never a table that is updated in place.
 */
export async function findInvoice(db: Queryable, invoiceId: string): Promise<InvoiceDocument | undefined> {
  const result = await db.query<{ document: InvoiceDocument }>('SELECT document FROM invoices WHERE invoice_id = $1', [
    invoiceId,
  ]);
  return result.rows[0]?.document;
}

/** The order's invoices (and credit notes), in the order they were issued. */
export async function listOrderInvoices(db: Queryable, orderId: string): Promise<InvoiceDocument[]> {
  const result = await db.query<{ document: InvoiceDocument }>(
    'SELECT document FROM invoices WHERE order_id = $1 ORDER BY issued_at, number',
    [orderId],
  );
  return result.rows.map((r) => r.document);
}
