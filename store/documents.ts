import { documentNumber, type DocumentKindName, type InvoiceDocument, type Party } from '../domain/invoice.js';
import type { Config } from '../platform/config.js';
import type { Queryable } from '../platform/db.js';
import { ORDER_AGGREGATE } from '../platform/eventEnvelope.js';
import { uuidv7 } from '../platform/ids.js';
import { eventLogAndOutbox, metadataParam, type NewEvent } from './eventStore.js';

/**
 * `count` consecutive numbers of a kind of document in a year, without gaps, in one counter update:
 * the counter row stays locked until the caller's transaction ends, so concurrent issuers take turns
 * and a rollback gives the numbers back. Take it as late in the transaction as possible: every other
 * issuer of the kind waits on that row until this transaction commits.
 */
export async function allocateDocumentNumbers(
  tx: Queryable,
  kind: DocumentKindName,
  year: number,
  count: number,
): Promise<Array<{ seq: number; number: string }>> {
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`allocateDocumentNumbers: count ${count} is not positive`);
  const result = await tx.query<{ last_number: number }>(
    `INSERT INTO document_counters (kind, year, last_number) VALUES ($1, $2, $3)
     ON CONFLICT (kind, year) DO UPDATE SET last_number = document_counters.last_number + $3
     RETURNING last_number`,
    [kind, year, count],
  );
  const last = result.rows[0]?.last_number;
  if (last === undefined) throw new Error(`no ${kind} counter for ${year}`);
  return Array.from({ length: count }, (_, i) => {
    const seq = last - count + 1 + i;
    return { seq, number: documentNumber(kind, year, seq) };
  });
}

/** The next number of a kind of document in a year, without gaps (a range of one). */
export async function nextDocumentNumber(
  tx: Queryable,
  kind: DocumentKindName,
  year: number,
): Promise<{ seq: number; number: string }> {
  const [only] = await allocateDocumentNumbers(tx, kind, year, 1);
  if (only === undefined) throw new Error('allocateDocumentNumbers returned no number');
  return only;
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

/** An event appended with issued documents; `numberOf` names a document whose number goes into its payload. */
export type EventWithNumber = NewEvent & {
  /** The invoice_id of a document in the same call: its number is set as the payload's `number`. */
  readonly numberOf?: string;
};

/** One order's events appended by issueDocumentsLast (the order's row already locked by the caller). */
export interface OrderEventsWithNumbers {
  readonly orderId: string;
  readonly events: readonly EventWithNumber[];
}

/**
 * Issues documents of one kind and year and appends their orders' events in ONE statement, written to
 * be the transaction's last before COMMIT: the counter row — the one row every issuer of the kind
 * needs — is bumped by the number of documents (one range, one update) and so stays locked only for
 * the rest of this statement and the commit, not for the whole transaction. The numbers are known only
 * inside the statement, so the documents (built whole, `number` left empty) get theirs there, and so
 * do the events naming them (`invoice.issued`).
 *
 * The event write is eventStore's appendToOrders (each order's version bumped by its events, events
 * numbered after it, the same outbox envelope); it is repeated here only because it has to share the
 * statement with the counter. The caller holds the orders' rows locked.
 * Returns the documents as stored, in the order given (numbers consecutive in that order).
 */
export async function issueDocumentsLast(
  tx: Queryable,
  kind: DocumentKindName,
  year: number,
  documents: readonly InvoiceDocument[],
  appends: readonly OrderEventsWithNumbers[],
  occurredAt: Date = new Date(),
): Promise<InvoiceDocument[]> {
  if (documents.some((d) => d.kind !== kind)) throw new Error(`issueDocumentsLast: every document must be a ${kind}`);
  const orders = appends.filter((a) => a.events.length > 0);
  if (new Set(orders.map((a) => a.orderId)).size !== orders.length) throw new Error('issueDocumentsLast: one entry per order');
  const position = new Map(documents.map((d, i) => [d.invoice_id, i + 1]));
  const occurred = occurredAt.toISOString();
  const events = orders.flatMap((a) =>
    a.events.map((event, i) => {
      const doc = event.numberOf === undefined ? null : position.get(event.numberOf);
      if (doc === undefined) throw new Error(`issueDocumentsLast: event names unknown document ${event.numberOf ?? ''}`);
      return { id: uuidv7(occurredAt.getTime()), orderId: a.orderId, ord: i + 1, event, doc, metadata: metadataParam(a.orderId) };
    }),
  );
  if (documents.length === 0 && events.length === 0) return [];
  // The prefix comes from the domain's own format ("INV-2026-"); the digits are padded to six as there.
  const prefix = documentNumber(kind, year, 0).replace(/0+$/, '');
  // No documents: the counter is not touched at all.
  const counter =
    documents.length === 0
      ? `counter AS (SELECT 0 * $3::int AS before)`
      : `counter AS (
           INSERT INTO document_counters (kind, year, last_number) VALUES ($1, $2, $3)
           ON CONFLICT (kind, year) DO UPDATE SET last_number = document_counters.last_number + $3
           RETURNING last_number - $3 AS before
         )`;
  const result = await tx.query<{ events: number; documents: Array<{ invoice_id: string; number: string; seq: number }> }>(
    `WITH ${counter}, docs AS (
       SELECT d.*, c.before + d.ord::int AS seq,
              $4::text || lpad((c.before + d.ord)::text, greatest(6, length((c.before + d.ord)::text)), '0') AS number
         FROM unnest($5::uuid[], $6::uuid[], $7::uuid[], $8::uuid[], $9::text[], $10::bigint[], $11::jsonb[], $12::timestamptz[], $13::uuid[])
              WITH ORDINALITY AS d(invoice_id, order_id, shipment_id, capture_id, currency, total, document, issued_at, refund_id, ord)
        CROSS JOIN counter c
     ), stored AS (
       INSERT INTO invoices (invoice_id, kind, number, year, seq, order_id, shipment_id, capture_id, currency, total, document,
                             issued_at, refund_id)
       SELECT invoice_id, $1, number, $2, seq, order_id, shipment_id, capture_id, currency, total,
              document || jsonb_build_object('number', number), issued_at, refund_id
         FROM docs
       RETURNING invoice_id, number, seq
     ), counts AS (
       SELECT order_id, count(*)::int AS n FROM unnest($15::uuid[]) AS e(order_id) GROUP BY order_id
     ), base AS (
       UPDATE orders o SET version = o.version + c.n, updated_at = now()
         FROM counts c
        WHERE o.order_id = c.order_id AND o.created_at = uuid7_time(c.order_id)
        RETURNING o.order_id, o.version - c.n AS after_seq
     ), input AS (
       SELECT t.event_id, t.order_id, b.after_seq + t.ord AS seq, t.type,
              CASE WHEN t.doc IS NULL THEN t.payload ELSE t.payload || jsonb_build_object('number', d.number) END AS payload,
              t.metadata
         FROM unnest($14::uuid[], $15::uuid[], $16::int[], $17::text[], $18::jsonb[], $19::int[], $22::jsonb[])
              AS t(event_id, order_id, ord, type, payload, doc, metadata)
         JOIN base b ON b.order_id = t.order_id
         LEFT JOIN docs d ON d.ord = t.doc
     ), ${eventLogAndOutbox('input', '$20', '$21')}
     SELECT (SELECT count(*)::int FROM outboxed) AS events,
            (SELECT coalesce(json_agg(json_build_object('invoice_id', invoice_id, 'number', number, 'seq', seq)), '[]') FROM stored)
              AS documents`,
    [
      kind,
      year,
      documents.length,
      prefix,
      documents.map((d) => d.invoice_id),
      documents.map((d) => d.order_id),
      documents.map((d) => d.shipment_id),
      documents.map((d) => d.capture_id),
      documents.map((d) => d.currency),
      documents.map((d) => d.total),
      documents.map((d) => JSON.stringify(d)),
      documents.map((d) => d.issued_at),
      documents.map((d) => d.refund_id ?? null),
      events.map((e) => e.id),
      events.map((e) => e.orderId),
      events.map((e) => e.ord),
      events.map((e) => e.event.type),
      events.map((e) => JSON.stringify(e.event.payload)),
      events.map((e) => e.doc),
      occurred,
      ORDER_AGGREGATE,
      events.map((e) => e.metadata),
    ],
  );
  const written = result.rows[0]?.events ?? 0;
  // An order that does not exist wrote no events: fail (and roll back) rather than issue without them.
  if (written !== events.length) throw new Error(`issueDocumentsLast: ${events.length - written} events found no order`);
  const stored = new Map((result.rows[0]?.documents ?? []).map((r) => [r.invoice_id, r]));
  return documents.map((d) => {
    const row = stored.get(d.invoice_id);
    if (row === undefined) throw new Error(`issueDocumentsLast: document ${d.invoice_id} not stored`);
    // The SQL above formats numbers itself; it must agree with the domain's format.
    if (row.number !== documentNumber(kind, year, row.seq))
      throw new Error(`issueDocumentsLast: number ${row.number} misformatted`);
    return { ...d, number: row.number };
  });
}

/** Who issues invoices and credit notes, from the configuration (`;` separates address lines). */
export function sellerOf(config: Pick<Config, 'sellerName' | 'sellerAddress' | 'sellerTaxId'>): Party {
  return { name: config.sellerName, address: config.sellerAddress.split(';').map((l) => l.trim()), tax_id: config.sellerTaxId };
}
