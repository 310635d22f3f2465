import { OrderEventType } from '../../domain/events.js';
import { buildInvoice, buyerOf, DocumentKind, type InvoiceDocument, type InvoiceLineInput } from '../../domain/invoice.js';
import type { Address } from '../../domain/order.js';
import { SagaStatus } from '../../domain/order.js';
import {
  allocateRefund,
  nextRefundAction,
  NOT_ENOUGH_CAPTURED,
  refundAtPspOutcome,
  RefundStepId,
  type RefundAllocation,
  type RefundAtPspResult,
  type RefundedPart,
  type RefundSteps,
} from '../../domain/refundSaga.js';
import type { PoolClient } from '../../platform/db.js';
import { uuidv7 } from '../../platform/ids.js';
import { nextDocumentNumber, storeDocument } from '../../store/documents.js';
import { appendToOrder } from '../../store/eventStore.js';
import { lockOrder } from '../../store/orderLock.js';
import { commitChangeStep, waitForPsp, type ChangeSaga } from './changeSaga.js';
import type { ChangeContext, StepOutcome } from './changeContext.js';

interface RefundRow {
  readonly refund_id: string;
  readonly order_id: string;
  readonly payment_id: string;
  readonly amount: number;
  readonly currency: string;
  readonly reason: string;
  readonly status: string;
  readonly items: ReadonlyArray<{ item_id: string; sku: string; quantity: number; unit_price: number; amount: number }>;
}

async function loadRefund(db: Pick<PoolClient, 'query'>, sagaId: string): Promise<RefundRow | undefined> {
  const result = await db.query<RefundRow>('SELECT * FROM refunds WHERE saga_id = $1', [sagaId]);
  return result.rows[0];
}

/**
 * One step of a refund saga: the next action, asked of the workflow (domain/refundSaga.ts); its
 * effects, done here.
 */
export async function refundStep(context: ChangeContext, saga: ChangeSaga): Promise<StepOutcome> {
  const refund = await loadRefund(context.pool, saga.saga_id);
  if (refund === undefined) throw new Error(`refund saga ${saga.saga_id} has no refund`);
  // step_results as this workflow recorded them.
  const action = nextRefundAction({ status: saga.status, steps: saga.steps as RefundSteps });
  switch (action.kind) {
    case 'allocate':
      return allocate(context, saga, refund);
    case 'refund_at_psp':
      return refundAtPsp(context, saga, refund, action.allocations);
    case 'issue_credit_note':
      return bookRefund(context, saga, refund, action.refunded);
    case 'fail':
      return failRefund(context, saga, refund, action.reason);
    case 'done':
      return 'done';
    default:
      return assertNever(action);
  }
}

/** The amount spread over the order's captures, oldest first, each up to what it has left (counting other refunds still in flight), under the captures' row locks. */
function allocate(context: ChangeContext, saga: ChangeSaga, refund: RefundRow): Promise<StepOutcome> {
  return commitChangeStep(context, saga, RefundStepId.allocate, async (tx) => {
    await lockOrder(tx, saga.order_id);
    const captures = await tx.query<{ capture_id: string; payment_id: string; psp_capture_id: string; left: number }>(
      `SELECT c.capture_id, c.payment_id, c.psp_capture_id,
              c.amount - c.amount_refunded - coalesce((
                SELECT sum((a->>'amount')::bigint) FROM refunds r, jsonb_array_elements(r.allocations) a
                 WHERE r.order_id = c.order_id AND r.status = 'pending' AND r.refund_id <> $2
                   AND a->>'capture_id' = c.capture_id::text), 0) AS left
         FROM captures c
        WHERE c.order_id = $1 AND c.status = 'captured'
        ORDER BY c.captured_at, c.capture_id FOR UPDATE OF c`,
      [refund.order_id, refund.refund_id],
    );
    const allocations = allocateRefund(refund.amount, captures.rows);
    if (allocations === undefined) return { result: { status: 'failed', reason: NOT_ENOUGH_CAPTURED } };
    await tx.query('UPDATE refunds SET allocations = $2, updated_at = now() WHERE refund_id = $1', [
      refund.refund_id,
      JSON.stringify(allocations),
    ]);
    return { result: { status: 'succeeded', allocations } };
  });
}

/**
 * Each part refunded at the PSP with the key `refund:<refund_id>:<capture_id>` — a retry after a
 * timeout or a crash can never refund twice. What the answers make of the refund is the workflow's.
 */
async function refundAtPsp(
  context: ChangeContext,
  saga: ChangeSaga,
  refund: RefundRow,
  allocations: readonly RefundAllocation[],
): Promise<StepOutcome> {
  const refunds: RefundedPart[] = [];
  let refused: string | undefined;
  try {
    for (const a of allocations) {
      const outcome = await context.psp.refund(a.psp_capture_id, a.amount, `refund:${refund.refund_id}:${a.capture_id}`);
      if (outcome.kind === 'refused') {
        refused = `PSP refused: ${outcome.reason}`;
        break;
      }
      refunds.push({ ...a, psp_refund_id: outcome.refundId });
    }
  } catch (error) {
    return waitForPsp(context, saga, error);
  }
  const outcome = refundAtPspOutcome(refused === undefined ? { refunds } : { refunds, refused });
  if (outcome.kind === 'fail') return failRefund(context, saga, refund, outcome.reason);
  return commitChangeStep(context, saga, RefundStepId.refundAtPsp, async () => ({ result: outcome.result }));
}

/**
 * In one transaction: the captures, the payment and the lines' refunded quantities go up, the refund
 * succeeds, and a credit note numbered like invoices (`CN-<year>-<n>`, gapless) is issued, pointing at
 * the invoice lines it corrects; `refund.issued`. A partial refund books only what the PSP refunded.
 */
function bookRefund(context: ChangeContext, saga: ChangeSaga, refund: RefundRow, atPsp: RefundAtPspResult): Promise<StepOutcome> {
  const refunded = atPsp.refunds;
  const partial = atPsp.status === 'partial';
  const refused = atPsp.status === 'partial' ? atPsp.refused : undefined;
  const refundedAmount = refunded.reduce((sum, r) => sum + r.amount, 0);
  return commitChangeStep(context, saga, RefundStepId.issueCreditNote, async (tx) => {
    const order = await lockOrder<{ customer_id: string; shipping_address: Address; billing_address: Address | null }>(
      tx,
      saga.order_id,
      'customer_id, shipping_address, billing_address',
    );
    if (order === undefined) throw new Error(`order ${saga.order_id} is missing`);
    const payments = new Map<string, { amount_refunded: number; status: string }>();
    for (const r of refunded) {
      await tx.query('UPDATE captures SET amount_refunded = amount_refunded + $2 WHERE capture_id = $1', [
        r.capture_id,
        r.amount,
      ]);
      const updated = await tx.query<{ amount_refunded: number; status: string }>(
        `UPDATE payments SET amount_refunded = amount_refunded + $2, updated_at = now(),
                status = CASE WHEN amount_refunded + $2 >= amount_captured THEN 'refunded' ELSE 'partially_refunded' END
          WHERE payment_id = $1 RETURNING amount_refunded, status`,
        [r.payment_id, r.amount],
      );
      const row = updated.rows[0];
      if (row !== undefined) payments.set(r.payment_id, row);
    }
    // A partial refund returned money, not the lines' units: their refunded quantities stay.
    for (const i of partial ? [] : refund.items) {
      await tx.query(
        `UPDATE order_items SET quantity_refunded = quantity_refunded + $2,
                status = CASE WHEN quantity_refunded + $2 >= quantity_shipped THEN 'refunded' ELSE status END
          WHERE item_id = $1`,
        [i.item_id, i.quantity],
      );
    }
    const creditNote = await issueCreditNote(
      tx,
      context,
      saga.order_id,
      partial ? { ...refund, amount: refundedAmount, items: [] } : refund,
      refunded,
      buyerOf(order.customer_id, order.billing_address ?? order.shipping_address),
      partial ? `Partial refund (the rest was refused): ${refund.reason}` : undefined,
    );
    await tx.query(
      `UPDATE refunds SET status = $4, allocations = $2, credit_note_id = $3, updated_at = now() WHERE refund_id = $1`,
      [refund.refund_id, JSON.stringify(refunded), creditNote.invoice_id, partial ? 'partially_refunded' : 'succeeded'],
    );
    await appendToOrder(tx, saga.order_id, [
      {
        type: OrderEventType.refundIssued,
        payload: {
          refund_id: refund.refund_id,
          saga_id: saga.saga_id,
          payment_id: refund.payment_id,
          amount: refundedAmount,
          currency: refund.currency,
          reason: refund.reason,
          items: partial ? [] : refund.items.map((i) => ({ item_id: i.item_id, sku: i.sku, quantity: i.quantity })),
          ...(partial ? { partial: { requested_amount: refund.amount, refused } } : {}),
          allocations: refunded,
          payments: [...payments].map(([payment_id, p]) => ({
            payment_id,
            amount_refunded: p.amount_refunded,
            status: p.status,
          })),
          credit_note: { invoice_id: creditNote.invoice_id, number: creditNote.number, total: creditNote.total },
        },
      },
    ]);
    if (partial)
      context.logger.error(
        {
          order_id: saga.order_id,
          refund_id: refund.refund_id,
          refunded: refundedAmount,
          requested: refund.amount,
          refused,
        },
        'refund only partly made: the PSP refused the rest; booked what it refunded',
      );
    else
      context.logger.info(
        { order_id: saga.order_id, refund_id: refund.refund_id, credit_note: creditNote.number },
        'refund issued',
      );
    return { result: { status: 'succeeded', credit_note_id: creditNote.invoice_id }, status: SagaStatus.completed };
  });
}

/** Not enough captured, or the PSP refused every part: the refund fails (`refund.failed`), logged for a human. */
async function failRefund(context: ChangeContext, saga: ChangeSaga, refund: RefundRow, reason: string): Promise<StepOutcome> {
  context.logger.error({ order_id: saga.order_id, refund_id: refund.refund_id, reason }, 'refund failed');
  return commitChangeStep(context, saga, RefundStepId.fail, async (tx) => {
    await lockOrder(tx, saga.order_id);
    await tx.query(`UPDATE refunds SET status = 'failed', updated_at = now() WHERE refund_id = $1`, [refund.refund_id]);
    await appendToOrder(tx, saga.order_id, [
      {
        type: OrderEventType.refundFailed,
        payload: { refund_id: refund.refund_id, saga_id: saga.saga_id, amount: refund.amount, reason },
      },
    ]);
    return { result: { status: 'failed', reason }, status: SagaStatus.failed };
  });
}

/**
 * The credit note: the refunded lines (or one goodwill line), and what it corrects — the invoice lines
 * of the refunded items, or, for an amount, the invoices of the captures it was refunded from.
 */
async function issueCreditNote(
  tx: PoolClient,
  context: ChangeContext,
  orderId: string,
  refund: RefundRow,
  refunded: readonly RefundAllocation[],
  buyer: ReturnType<typeof buyerOf>,
  /** The line of an amount refund; by default a goodwill refund's. */
  description = `Goodwill refund: ${refund.reason}`,
): Promise<InvoiceDocument> {
  const invoices = await tx.query<{ document: InvoiceDocument }>(
    `SELECT document FROM invoices WHERE order_id = $1 AND kind = 'invoice' ORDER BY issued_at, number`,
    [orderId],
  );
  const docs = invoices.rows.map((r) => r.document);
  let lines: InvoiceLineInput[];
  let corrects: Array<{ invoice_id: string; number: string; line_no?: number; item_id?: string }>;
  if (refund.items.length > 0) {
    lines = refund.items.map((i) => ({
      item_id: i.item_id,
      sku: i.sku,
      description: `Refund: ${refund.reason}`,
      quantity: i.quantity,
      unit_price: i.unit_price,
    }));
    corrects = refund.items.flatMap((i) =>
      docs.flatMap((d) =>
        d.lines
          .filter((l) => l.item_id === i.item_id)
          .map((l) => ({ invoice_id: d.invoice_id, number: d.number, line_no: l.line_no, item_id: i.item_id })),
      ),
    );
  } else {
    lines = [{ item_id: '', sku: '', description, quantity: 1, unit_price: refund.amount }];
    const captures = new Set(refunded.map((r) => r.capture_id));
    corrects = docs
      .filter((d) => d.capture_id !== null && captures.has(d.capture_id))
      .map((d) => ({ invoice_id: d.invoice_id, number: d.number }));
  }
  const issuedAt = new Date();
  const year = issuedAt.getUTCFullYear();
  const { seq, number } = await nextDocumentNumber(tx, DocumentKind.creditNote, year);
  const creditNote = {
    ...buildInvoice({
      invoice_id: uuidv7(),
      kind: DocumentKind.creditNote,
      number,
      issued_at: issuedAt.toISOString(),
      order_id: orderId,
      shipment_id: null,
      capture_id: null,
      seller: context.seller,
      buyer,
      currency: refund.currency,
      lines,
    }),
    refund_id: refund.refund_id,
    corrects,
  };
  await storeDocument(tx, creditNote, year, seq);
  return creditNote;
}

function assertNever(action: never): never {
  throw new Error(`unknown refund action ${JSON.stringify(action)}`);
}
