import { OrderEventType } from '../../domain/events.js';
import { buildInvoice, buyerOf, DocumentKind, type Party } from '../../domain/invoice.js';
import type { Address } from '../../domain/order.js';
import { withTransaction, type Pool } from '../../platform/db.js';
import { nextDocumentNumber, storeDocument } from '../../platform/documents.js';
import { appendToOrder } from '../../platform/eventStore.js';
import { uuidv7 } from '../../platform/ids.js';
import type { Logger } from '../../platform/logger.js';
import { lockOrder } from '../../platform/orderProgress.js';
import { PollLoop, type NextTick } from '../../platform/pollLoop.js';
import { PspUnavailable, type PspClient } from '../../platform/psp.js';

export interface CaptureProcessorOptions {
  readonly pool: Pool;
  readonly psp: PspClient;
  readonly logger: Logger;
  readonly seller: Party;
  /** How often pending captures whose first try failed are looked for. */
  readonly pollMs: number;
}

interface PendingCapture {
  readonly capture_id: string;
  readonly order_id: string;
  readonly payment_id: string;
  readonly shipment_id: string;
  readonly amount: number;
  readonly currency: string;
  readonly attempts: number;
  readonly authorization_code: string;
}

const RETRY_BASE_MS = 500;
/** Due captures taken per poll. */
const CAPTURE_BATCH = 50;
const RETRY_MAX_MS = 60_000;

/**
 * Takes the money for shipped shipments (contract §5: capture per shipment, an invoice per capture).
 * A capture is written `pending` with its shipment; this calls the PSP with the capture's id as the
 * Idempotency-Key — so a retry after a crash or a timeout can never charge twice — then, in one
 * transaction, marks it captured, adds it to the payment, issues the invoice with the next number of
 * the year, and appends `payment.captured` and `invoice.issued`. A PSP that does not answer is tried
 * again with backoff; a refusal is recorded (`payment.capture_failed`) and logged for a human.
 */
export class CaptureProcessor {
  private readonly loop: PollLoop;

  constructor(private readonly options: CaptureProcessorOptions) {
    // A full batch means more may be due: the next tick follows at once.
    this.loop = new PollLoop(
      'capture poll',
      options.pollMs,
      async (): Promise<NextTick> => ({ dueInMs: (await this.captureDue()) === CAPTURE_BATCH ? 0 : options.pollMs }),
      options.logger,
    );
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Every pending capture that is due, oldest first, up to a batch; returns how many. */
  async captureDue(): Promise<number> {
    const due = await this.options.pool.query<{ capture_id: string }>(
      `SELECT capture_id FROM captures WHERE status = 'pending' AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $1`,
      [CAPTURE_BATCH],
    );
    for (const row of due.rows) await this.capture(row.capture_id);
    return due.rows.length;
  }

  async capture(captureId: string): Promise<void> {
    const found = await this.options.pool.query<PendingCapture>(
      `SELECT c.capture_id, c.order_id, c.payment_id, c.shipment_id, c.amount, c.currency, c.attempts, p.authorization_code
         FROM captures c JOIN payments p ON p.payment_id = c.payment_id
        WHERE c.capture_id = $1 AND c.status = 'pending'`,
      [captureId],
    );
    const capture = found.rows[0];
    if (capture === undefined) return;
    const log = { order_id: capture.order_id, shipment_id: capture.shipment_id, capture_id: capture.capture_id };
    let outcome;
    try {
      outcome = await this.options.psp.capture(capture.authorization_code, capture.amount, `capture:${capture.capture_id}`);
    } catch (error) {
      if (!(error instanceof PspUnavailable)) throw error;
      const waitMs = Math.min(
        RETRY_MAX_MS,
        Math.max(error.retryAfterMs ?? 0, RETRY_BASE_MS * 2 ** Math.min(capture.attempts, 16)),
      );
      await this.options.pool.query(
        `UPDATE captures SET attempts = attempts + 1, last_error = $2,
                next_attempt_at = now() + make_interval(secs => $3::double precision / 1000)
          WHERE capture_id = $1 AND status = 'pending'`,
        [capture.capture_id, error.message, waitMs],
      );
      this.options.logger.warn({ ...log, wait_ms: waitMs, err: error.message }, 'PSP unavailable; capture retried later');
      return;
    }

    await withTransaction(this.options.pool, async (tx) => {
      const order = await lockOrder<{ customer_id: string; shipping_address: Address; billing_address: Address | null }>(
        tx,
        capture.order_id,
        'customer_id, shipping_address, billing_address',
      );
      const still = await tx.query(`SELECT 1 FROM captures WHERE capture_id = $1 AND status = 'pending' FOR UPDATE`, [
        capture.capture_id,
      ]);
      if (order === undefined || still.rows.length === 0) return;

      if (outcome.kind === 'refused') {
        await tx.query(`UPDATE captures SET status = 'failed', last_error = $2, attempts = attempts + 1 WHERE capture_id = $1`, [
          capture.capture_id,
          outcome.reason,
        ]);
        const payload = {
          capture_id: capture.capture_id,
          shipment_id: capture.shipment_id,
          amount: capture.amount,
          reason: outcome.reason,
        };
        await appendToOrder(tx, capture.order_id, [{ type: OrderEventType.paymentCaptureFailed, payload }]);
        this.options.logger.error({ ...log, reason: outcome.reason }, 'PSP refused the capture of a shipped shipment');
        return;
      }

      await tx.query(
        `UPDATE captures SET status = 'captured', psp_capture_id = $2, captured_at = now(), attempts = attempts + 1 WHERE capture_id = $1`,
        [capture.capture_id, outcome.captureId],
      );
      const payment = await tx.query<{ amount: number; amount_captured: number; status: string }>(
        `UPDATE payments
            SET amount_captured = amount_captured + $2, captured_at = now(), updated_at = now(),
                status = CASE WHEN amount_captured + $2 >= amount THEN 'captured' ELSE 'partially_captured' END
          WHERE payment_id = $1
          RETURNING amount, amount_captured, status`,
        [capture.payment_id, capture.amount],
      );
      const paid = payment.rows[0];

      const lines = await tx.query<{ item_id: string; sku: string; name: string; quantity: number; unit_price: number }>(
        `SELECT si.item_id, si.sku, coalesce(p.name, si.sku) AS name, si.quantity, si.unit_price
           FROM shipment_items si LEFT JOIN products p ON p.sku = si.sku
          WHERE si.shipment_id = $1 AND si.quantity > 0 ORDER BY si.sku, si.item_id`,
        [capture.shipment_id],
      );
      const issuedAt = new Date();
      const year = issuedAt.getUTCFullYear();
      const { seq, number } = await nextDocumentNumber(tx, DocumentKind.invoice, year);
      const invoice = buildInvoice({
        invoice_id: uuidv7(),
        number,
        issued_at: issuedAt.toISOString(),
        order_id: capture.order_id,
        shipment_id: capture.shipment_id,
        capture_id: capture.capture_id,
        seller: this.options.seller,
        buyer: buyerOf(order.customer_id, order.billing_address ?? order.shipping_address),
        currency: capture.currency,
        lines: lines.rows.map((l) => ({
          item_id: l.item_id,
          sku: l.sku,
          description: l.name,
          quantity: l.quantity,
          unit_price: l.unit_price,
        })),
      });
      await storeDocument(tx, invoice, year, seq);
      await appendToOrder(tx, capture.order_id, [
        {
          type: OrderEventType.paymentCaptured,
          payload: {
            payment_id: capture.payment_id,
            capture_id: capture.capture_id,
            psp_capture_id: outcome.captureId,
            shipment_id: capture.shipment_id,
            amount: capture.amount,
            currency: capture.currency,
            amount_captured: paid?.amount_captured ?? capture.amount,
            payment_status: paid?.status ?? 'captured',
          },
        },
        {
          type: OrderEventType.invoiceIssued,
          payload: {
            invoice_id: invoice.invoice_id,
            number: invoice.number,
            capture_id: capture.capture_id,
            shipment_id: capture.shipment_id,
            total: invoice.total,
            currency: invoice.currency,
          },
        },
      ]);
      this.options.logger.info({ ...log, amount: capture.amount, invoice: invoice.number }, 'shipment captured and invoiced');
    });
  }
}
