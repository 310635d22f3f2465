import { OrderEventType } from '../../domain/events.js';
import { buildInvoice, buyerOf, DocumentKind, type InvoiceDocument, type Party } from '../../domain/invoice.js';
import type { Address } from '../../domain/order.js';
import { withTransaction, type Pool } from '../../platform/db.js';
import { uuidv7 } from '../../platform/ids.js';
import type { Logger } from '../../platform/logger.js';
import { PollLoop, type NextTick } from '../../platform/pollLoop.js';
import { continuingOrder, inServiceScope } from '../../platform/traceScope.js';
import { PspUnavailable, type PspClient } from '../../platform/psp.js';
import { issueDocumentsLast, type EventWithNumber } from '../../store/documents.js';
import { lockOrders } from '../../store/orderLock.js';
import {
  claimDueCaptures,
  postponeCaptures,
  recordCaptureAnswers,
  type CaptureAnswer,
  type ClaimedCapture,
} from './captureStore.js';

export interface CaptureProcessorOptions {
  readonly pool: Pool;
  readonly psp: PspClient;
  readonly logger: Logger;
  readonly seller: Party;
  /** How often pending captures whose first try failed are looked for. */
  readonly pollMs: number;
  /** How long a taken capture is left to this processor before another may take it (default 30 s). */
  readonly leaseMs?: number;
}

const RETRY_BASE_MS = 500;
/** Due captures taken per poll. */
const CAPTURE_BATCH = 50;
const RETRY_MAX_MS = 60_000;
/** Longer than a batch of PSP calls (each bounded by the client's timeout) and its recording. */
const DEFAULT_LEASE_MS = 30_000;

/** A capture and what the PSP said to it. */
type Answered = { readonly capture: ClaimedCapture; readonly answer: CaptureAnswer };

/**
 * Takes the money for shipped shipments (contract §5: capture per shipment, an invoice per capture).
 * A capture is written `pending` with its shipment; each poll takes what is due as a batch: one
 * statement claims it, the PSP is called for every capture at once (each with the capture's id as the
 * Idempotency-Key — so a retry after a crash or a timeout can never charge twice), and then ONE
 * transaction records all the answers: captures marked captured, payments grown, one invoice per
 * capture numbered from one range of the year's counter, and `payment.captured` + `invoice.issued` per
 * capture appended to each order. The counter is taken in the transaction's last statement, so
 * captures elsewhere wait on it only for a commit. If recording the batch fails, each capture is
 * recorded alone, so one bad capture holds up no other. A PSP that does not answer is tried again with
 * backoff; a refusal is recorded (`payment.capture_failed`) and logged for a human.
 */
export class CaptureProcessor {
  private readonly loop: PollLoop;

  constructor(private readonly options: CaptureProcessorOptions) {
    // A full batch means more may be due: the next tick follows at once.
    this.loop = new PollLoop(
      'capture poll',
      options.pollMs,
      // Its events take their order's correlation from the order's last event (no message in hand: platform/traceScope).
      () =>
        inServiceScope('fulfillment', async (): Promise<NextTick> => ({
          dueInMs: (await this.captureDue()) === CAPTURE_BATCH ? 0 : options.pollMs,
        })),
      options.logger,
    );
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** New captures were written: poll now rather than at the next tick. */
  wake(): void {
    this.loop.wake();
  }

  /** Every pending capture that is due, oldest first, up to a batch, as one batch; returns how many. */
  async captureDue(): Promise<number> {
    const claimed = await claimDueCaptures(this.options.pool, CAPTURE_BATCH, this.options.leaseMs ?? DEFAULT_LEASE_MS);
    if (claimed.length === 0) return 0;

    const calls = await Promise.all(claimed.map((capture) => this.callPsp(capture)));
    const answered = calls.filter((c): c is Answered => c !== undefined && 'answer' in c);
    await postponeCaptures(
      this.options.pool,
      calls.flatMap((c) => (c !== undefined && 'waitMs' in c ? [c] : [])),
    );
    if (answered.length === 0) return claimed.length;
    try {
      await this.record(answered);
    } catch (error) {
      if (answered.length === 1) throw error;
      this.options.logger.warn(
        { err: error, captures: answered.length },
        'recording a batch of captures failed; recording each alone',
      );
      for (const one of answered) {
        // Left pending: the claim's lease runs out and a later poll records it (the PSP answers the same again).
        await this.record([one]).catch((err: unknown) =>
          this.options.logger.error(
            { err, order_id: one.capture.order_id, capture_id: one.capture.capture_id },
            'recording a capture failed; retried when its lease runs out',
          ),
        );
      }
    }
    return claimed.length;
  }

  /** The PSP's answer for one capture, or when to try again; an unexpected failure is logged and left to the lease. */
  private async callPsp(
    capture: ClaimedCapture,
  ): Promise<Answered | { captureId: string; error: string; waitMs: number } | undefined> {
    const log = { order_id: capture.order_id, shipment_id: capture.shipment_id, capture_id: capture.capture_id };
    try {
      // The PSP sandbox logs the order's correlation id and trace with the call (platform/traceScope).
      const outcome = await continuingOrder(capture.order_id, capture.metadata, 'fulfillment', () =>
        this.options.psp.capture(capture.authorization_code, capture.amount, `capture:${capture.capture_id}`),
      );
      const answer: CaptureAnswer =
        outcome.kind === 'captured'
          ? { captureId: capture.capture_id, pspCaptureId: outcome.captureId }
          : { captureId: capture.capture_id, refused: outcome.reason };
      return { capture, answer };
    } catch (error) {
      if (!(error instanceof PspUnavailable)) {
        this.options.logger.error({ ...log, err: error }, 'capture call failed; retried when its lease runs out');
        return undefined;
      }
      const waitMs = Math.min(
        RETRY_MAX_MS,
        Math.max(error.retryAfterMs ?? 0, RETRY_BASE_MS * 2 ** Math.min(capture.attempts, 16)),
      );
      this.options.logger.warn({ ...log, wait_ms: waitMs, err: error.message }, 'PSP unavailable; capture retried later');
      return { captureId: capture.capture_id, error: error.message, waitMs };
    }
  }

  /**
   * Records answered captures in one transaction: the orders locked first (in id order, one statement),
   * then the captures and payments (one statement), then — last — the invoices with one range of
   * numbers and every order's events (one statement). A capture recorded meanwhile by another processor
   * is skipped; an order that no longer exists leaves its captures pending.
   */
  private async record(answered: readonly Answered[]): Promise<void> {
    const orderIds = [...new Set(answered.map((a) => a.capture.order_id))].sort();
    const { issued, refused } = await withTransaction(this.options.pool, async (tx) => {
      const orderOf = await lockOrders<{
        order_id: string;
        customer_id: string;
        shipping_address: Address;
        billing_address: Address | null;
      }>(tx, orderIds, 'o.order_id, o.customer_id, o.shipping_address, o.billing_address');
      const recordable = answered.filter((a) => orderOf.has(a.capture.order_id));
      const recorded = new Map(
        (
          await recordCaptureAnswers(
            tx,
            recordable.map((a) => a.answer),
          )
        ).map((r) => [r.capture_id, r]),
      );

      const issuedAt = new Date();
      const year = issuedAt.getUTCFullYear();
      const invoices: InvoiceDocument[] = [];
      const refusals: Array<{ capture: ClaimedCapture; reason: string }> = [];
      const events = new Map<string, EventWithNumber[]>();
      // What each payment has captured so far, capture by capture (a batch may hold two of one payment).
      const capturedSoFar = new Map<string, number>();
      for (const { capture, answer } of recordable) {
        const row = recorded.get(capture.capture_id);
        const order = orderOf.get(capture.order_id);
        if (row === undefined || order === undefined) continue;
        const orderEvents = events.get(capture.order_id) ?? [];
        events.set(capture.order_id, orderEvents);
        if ('refused' in answer) {
          orderEvents.push({
            type: OrderEventType.paymentCaptureFailed,
            payload: {
              capture_id: capture.capture_id,
              shipment_id: capture.shipment_id,
              amount: capture.amount,
              reason: answer.refused,
            },
          });
          refusals.push({ capture, reason: answer.refused });
          continue;
        }
        const amountCaptured = (capturedSoFar.get(capture.payment_id) ?? row.captured_before ?? 0) + capture.amount;
        capturedSoFar.set(capture.payment_id, amountCaptured);
        const invoice = buildInvoice({
          invoice_id: uuidv7(),
          number: '', // given in the issuing statement, from the counter
          issued_at: issuedAt.toISOString(),
          order_id: capture.order_id,
          shipment_id: capture.shipment_id,
          capture_id: capture.capture_id,
          seller: this.options.seller,
          buyer: buyerOf(order.customer_id, order.billing_address ?? order.shipping_address),
          currency: capture.currency,
          lines: capture.lines,
        });
        invoices.push(invoice);
        orderEvents.push(
          {
            type: OrderEventType.paymentCaptured,
            payload: {
              payment_id: capture.payment_id,
              capture_id: capture.capture_id,
              psp_capture_id: answer.pspCaptureId,
              shipment_id: capture.shipment_id,
              amount: capture.amount,
              currency: capture.currency,
              amount_captured: amountCaptured,
              payment_status: amountCaptured >= (row.payment_amount ?? 0) ? 'captured' : 'partially_captured',
            },
          },
          {
            type: OrderEventType.invoiceIssued,
            numberOf: invoice.invoice_id,
            payload: {
              invoice_id: invoice.invoice_id,
              capture_id: capture.capture_id,
              shipment_id: capture.shipment_id,
              total: invoice.total,
              currency: invoice.currency,
            },
          },
        );
      }
      const appends = [...events].map(([orderId, orderEvents]) => ({ orderId, events: orderEvents }));
      return { issued: await issueDocumentsLast(tx, DocumentKind.invoice, year, invoices, appends, issuedAt), refused: refusals };
    });

    for (const { capture, reason } of refused) {
      this.options.logger.error(
        { order_id: capture.order_id, shipment_id: capture.shipment_id, capture_id: capture.capture_id, reason },
        'PSP refused the capture of a shipped shipment',
      );
    }
    for (const invoice of issued) {
      this.options.logger.info(
        {
          order_id: invoice.order_id,
          shipment_id: invoice.shipment_id,
          capture_id: invoice.capture_id,
          amount: invoice.total,
          invoice: invoice.number,
        },
        'shipment captured and invoiced',
      );
    }
  }
}
