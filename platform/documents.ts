import { documentNumber, type DocumentKindName, type InvoiceDocument, type Party } from '../domain/invoice.js';
import type { Config } from './config.js';
import type { Queryable } from './db.js';

/**
 * The next number of a kind of document in a year, without gaps: the counter row stays locked until
 * the caller's transaction ends, so concurrent issuers take turns and a rollback gives the number back.
 */
export async function nextDocumentNumber(
  tx: Queryable,
  kind: DocumentKindName,
  year: number,
): Promise<{ seq: number; number: string }> {
  const result = await tx.query<{ last_number: number }>(
    `INSERT INTO document_counters (kind, year, last_number) VALUES ($1, $2, 1)
     ON CONFLICT (kind, year) DO UPDATE SET last_number = document_counters.last_number + 1
     RETURNING last_number`,
    [kind, year],
  );
  const seq = result.rows[0]?.last_number ?? 0;
  return { seq, number: documentNumber(kind, year, seq) };
}

/** Stores an issued document, whole; it is never changed afterwards. */
export async function storeDocument(tx: Queryable, document: InvoiceDocument, year: number, seq: number): Promise<void> {
  await tx.query(
    `INSERT INTO invoices (invoice_id, kind, number, year, seq, order_id, shipment_id, capture_id, currency, total, document, issued_at,
                           refund_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      document.invoice_id,
      document.kind,
      document.number,
      year,
      seq,
      document.order_id,
      document.shipment_id,
      document.capture_id,
      document.currency,
      document.total,
      JSON.stringify(document),
      document.issued_at,
      document.refund_id ?? null,
    ],
  );
}

/** Who issues invoices and credit notes, from the configuration (`;` separates address lines). */
export function sellerOf(config: Pick<Config, 'sellerName' | 'sellerAddress' | 'sellerTaxId'>): Party {
  return { name: config.sellerName, address: config.sellerAddress.split(';').map((l) => l.trim()), tax_id: config.sellerTaxId };
}
