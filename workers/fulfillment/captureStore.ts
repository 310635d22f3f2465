import type { InvoiceLineInput } from '../../domain/invoice.js';
import type { EventMetadata } from '../../platform/eventEnvelope.js';
import { latestMetadataOf } from '../../store/eventStore.js';
import type { Queryable } from '../../platform/db.js';

/** A capture of a shipment from one payment, as written `pending` (the processor takes the money after commit). */
export interface NewCapture {
  readonly capture_id: string;
  readonly order_id: string;
  readonly payment_id: string;
  readonly shipment_id: string;
  readonly amount: number;
  readonly currency: string;
}

/** A pending capture taken by one processor, with what its call and its invoice need. */
export interface ClaimedCapture extends NewCapture {
  readonly attempts: number;
  readonly authorization_code: string;
  /** The shipped lines (fixed once the shipment shipped, which is when the capture was written). */
  readonly lines: readonly InvoiceLineInput[];
  /** The order's latest event's metadata: the PSP call carries its correlation. */
  readonly metadata: EventMetadata | null;
}

/**
 * Takes up to `limit` due pending captures, oldest first, in one statement: rows another processor
 * holds are skipped, and the taken ones are not due again for `leaseMs`, so a second processor does not
 * call the PSP for them meanwhile — and they come back by themselves if this one dies. The lease is
 * only about wasted work: the Idempotency-Key and the recording's `status = 'pending'` check keep a
 * capture exactly once even if two processors do take it.
 */
export async function claimDueCaptures(db: Queryable, limit: number, leaseMs: number): Promise<ClaimedCapture[]> {
  const result = await db.query<ClaimedCapture>(
    `WITH due AS (
       SELECT capture_id FROM captures
        WHERE status = 'pending' AND next_attempt_at <= now()
        ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED
     ), claimed AS (
       UPDATE captures c SET next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
         FROM due WHERE c.capture_id = due.capture_id
       RETURNING c.capture_id, c.order_id, c.payment_id, c.shipment_id, c.amount, c.currency, c.attempts
     )
     SELECT cl.*, p.authorization_code,
            coalesce((SELECT json_agg(json_build_object('item_id', si.item_id, 'sku', si.sku, 'description', coalesce(pr.name, si.sku),
                                                        'quantity', si.quantity, 'unit_price', si.unit_price)
                                      ORDER BY si.sku, si.item_id)
                        FROM shipment_items si LEFT JOIN products pr ON pr.sku = si.sku
                       WHERE si.shipment_id = cl.shipment_id AND si.quantity > 0), '[]') AS lines,
            ${latestMetadataOf('cl.order_id')} AS metadata
       FROM claimed cl JOIN payments p ON p.payment_id = cl.payment_id
      ORDER BY cl.order_id, cl.capture_id`,
    [limit, leaseMs],
  );
  return result.rows;
}

/** Captures the PSP could not answer for: each tried again after its own wait, in one statement. */
export async function postponeCaptures(
  db: Queryable,
  postponed: ReadonlyArray<{ captureId: string; error: string; waitMs: number }>,
): Promise<void> {
  if (postponed.length === 0) return;
  await db.query(
    `UPDATE captures c SET attempts = c.attempts + 1, last_error = u.error,
            next_attempt_at = now() + make_interval(secs => u.wait_ms / 1000)
       FROM unnest($1::uuid[], $2::text[], $3::double precision[]) AS u(capture_id, error, wait_ms)
      WHERE c.capture_id = u.capture_id AND c.status = 'pending'`,
    [postponed.map((p) => p.captureId), postponed.map((p) => p.error), postponed.map((p) => p.waitMs)],
  );
}

/** What the PSP answered for a capture: its capture id, or why it refused. */
export type CaptureAnswer =
  { readonly captureId: string; readonly pspCaptureId: string } | { readonly captureId: string; readonly refused: string };

/** A capture as recorded, with its payment's authorized amount and what was captured of it before this batch. */
export interface RecordedCapture {
  readonly capture_id: string;
  readonly payment_id: string;
  readonly amount: number;
  readonly status: 'captured' | 'failed';
  readonly payment_amount: number | null;
  readonly captured_before: number | null;
}

/**
 * Records the PSP's answers set-based in one statement: each capture still `pending` becomes `captured`
 * (or `failed`), and each payment grows by what was captured of it. A capture another processor already
 * recorded is not pending any more and is left out of what this returns. The caller holds the orders'
 * rows locked (every writer of an order's payments takes the order first).
 */
export async function recordCaptureAnswers(tx: Queryable, answers: readonly CaptureAnswer[]): Promise<RecordedCapture[]> {
  if (answers.length === 0) return [];
  const result = await tx.query<RecordedCapture>(
    `WITH moved AS (
       UPDATE captures c
          SET status = CASE WHEN u.refused IS NULL THEN 'captured' ELSE 'failed' END,
              psp_capture_id = coalesce(u.psp_capture_id, c.psp_capture_id),
              captured_at = CASE WHEN u.refused IS NULL THEN now() ELSE c.captured_at END,
              last_error = coalesce(u.refused, c.last_error),
              attempts = c.attempts + 1
         FROM unnest($1::uuid[], $2::text[], $3::text[]) AS u(capture_id, psp_capture_id, refused)
        WHERE c.capture_id = u.capture_id AND c.status = 'pending'
       RETURNING c.capture_id, c.payment_id, c.amount, c.status
     ), taken AS (
       SELECT payment_id, sum(amount)::bigint AS amount FROM moved WHERE status = 'captured' GROUP BY payment_id
     ), paid AS (
       UPDATE payments p
          SET amount_captured = p.amount_captured + t.amount, captured_at = now(), updated_at = now(),
              status = CASE WHEN p.amount_captured + t.amount >= p.amount THEN 'captured' ELSE 'partially_captured' END
         FROM taken t WHERE p.payment_id = t.payment_id
       RETURNING p.payment_id, p.amount, p.amount_captured - t.amount AS captured_before
     )
     SELECT m.capture_id, m.payment_id, m.amount, m.status, pd.amount AS payment_amount, pd.captured_before
       FROM moved m LEFT JOIN paid pd ON pd.payment_id = m.payment_id
      ORDER BY m.capture_id`,
    [
      answers.map((a) => a.captureId),
      answers.map((a) => ('pspCaptureId' in a ? a.pspCaptureId : null)),
      answers.map((a) => ('refused' in a ? a.refused : null)),
    ],
  );
  return result.rows;
}

/** New captures, `pending`, in one statement. */
export async function insertCaptures(
  tx: Queryable,
  captures: ReadonlyArray<{
    capture_id: string;
    order_id: string;
    payment_id: string;
    shipment_id: string;
    amount: number;
    currency: string;
  }>,
): Promise<void> {
  if (captures.length === 0) return;
  await tx.query(
    `INSERT INTO captures (capture_id, order_id, payment_id, shipment_id, amount, currency, status)
     SELECT c, o, p, s, a, cur, 'pending' FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::bigint[], $6::text[])
       AS t(c, o, p, s, a, cur)`,
    [
      captures.map((c) => c.capture_id),
      captures.map((c) => c.order_id),
      captures.map((c) => c.payment_id),
      captures.map((c) => c.shipment_id),
      captures.map((c) => c.amount),
      captures.map((c) => c.currency),
    ],
  );
}
