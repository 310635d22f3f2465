import { isFinished, type Done, type SagaState } from './sagaWorkflow.js';

/**
 * The refund saga as a pure workflow (contract §4): allocate the amount over the order's captures
 * (oldest first, each up to what it has left) → refund each part at the PSP (keyed
 * `refund:<refund_id>:<capture_id>`, so a retry never refunds twice) → book it and issue the credit note
 * (`refund.issued`). Not enough captured, or a PSP that refuses every part, fails the refund
 * (`refund.failed`); a refusal after some parts were refunded books those parts as a partial refund.
 *
 * The allocation is the one step with an effect to undo — it holds its captures' amounts against
 * other refunds while pending — and failing the refund is what undoes it.
 */
export const RefundStepId = Object.freeze({
  allocate: 'allocate',
  refundAtPsp: 'refund_at_psp',
  issueCreditNote: 'issue_credit_note',
  fail: 'fail',
} as const);
export type RefundStepIdName = (typeof RefundStepId)[keyof typeof RefundStepId];

/** Each forward step next to its compensation: what undoes what. */
export const RefundCompensation = Object.freeze({
  [RefundStepId.allocate]: RefundStepId.fail,
} as const);

export const NOT_ENOUGH_CAPTURED = 'not enough captured to refund';

/** One part of the refund: an amount to refund from one capture. */
export interface RefundAllocation {
  readonly capture_id: string;
  readonly payment_id: string;
  readonly psp_capture_id: string;
  readonly amount: number;
}

/** A part the PSP refunded. */
export type RefundedPart = RefundAllocation & { readonly psp_refund_id: string };

export type AllocateResult =
  | { readonly status: 'succeeded'; readonly allocations: readonly RefundAllocation[] }
  | { readonly status: 'failed'; readonly reason: string };

export type RefundAtPspResult =
  | { readonly status: 'succeeded'; readonly refunds: readonly RefundedPart[] }
  /** The PSP refused a part after refunding the ones before it. */
  | { readonly status: 'partial'; readonly refunds: readonly RefundedPart[]; readonly refused: string };

export interface RefundSteps {
  readonly allocate?: AllocateResult;
  readonly refund_at_psp?: RefundAtPspResult;
  readonly issue_credit_note?: { readonly status: 'succeeded'; readonly credit_note_id: string };
  readonly fail?: { readonly status: 'failed'; readonly reason: string };
}

export type RefundState = SagaState<RefundSteps>;

export type RefundAction =
  | { readonly kind: 'allocate' }
  | { readonly kind: 'refund_at_psp'; readonly allocations: readonly RefundAllocation[] }
  /** Book what the PSP refunded and issue the credit note; `partial`: only part of it was refunded. */
  | { readonly kind: 'issue_credit_note'; readonly refunded: RefundAtPspResult }
  | { readonly kind: 'fail'; readonly reason: string }
  | Done;

export function nextRefundAction(state: RefundState): RefundAction {
  if (isFinished(state.status)) return { kind: 'done' };
  const steps = state.steps;
  if (steps.allocate === undefined) return { kind: 'allocate' };
  if (steps.allocate.status === 'failed')
    return steps.fail === undefined ? { kind: 'fail', reason: NOT_ENOUGH_CAPTURED } : { kind: 'done' };
  if (steps.refund_at_psp === undefined) return { kind: 'refund_at_psp', allocations: steps.allocate.allocations };
  return steps.issue_credit_note === undefined ? { kind: 'issue_credit_note', refunded: steps.refund_at_psp } : { kind: 'done' };
}

/** The PSP's answers to a refund's parts, in order: each refunded, until one was refused. */
export interface PspRefundAnswers {
  readonly refunds: readonly RefundedPart[];
  readonly refused?: string;
}

/**
 * What the PSP's answers make of the refund: refused before any part was refunded, it fails; else what
 * was refunded is recorded — partial when a later part was refused (those parts are money returned,
 * never a failure the customer's bank statement contradicts).
 */
export function refundAtPspOutcome(
  answers: PspRefundAnswers,
): { readonly kind: 'fail'; readonly reason: string } | { readonly kind: 'record'; readonly result: RefundAtPspResult } {
  if (answers.refused === undefined) return { kind: 'record', result: { status: 'succeeded', refunds: answers.refunds } };
  if (answers.refunds.length === 0) return { kind: 'fail', reason: answers.refused };
  return { kind: 'record', result: { status: 'partial', refunds: answers.refunds, refused: answers.refused } };
}

/** The first fitting allocation of `amount` over captures (oldest first, each up to what it has left), or undefined when they do not cover it. */
export function allocateRefund(
  amount: number,
  captures: ReadonlyArray<{
    readonly capture_id: string;
    readonly payment_id: string;
    readonly psp_capture_id: string;
    readonly left: number;
  }>,
): RefundAllocation[] | undefined {
  let wanted = amount;
  const allocations: RefundAllocation[] = [];
  for (const c of captures) {
    const take = Math.min(wanted, Math.max(0, c.left));
    if (take === 0) continue;
    allocations.push({ capture_id: c.capture_id, payment_id: c.payment_id, psp_capture_id: c.psp_capture_id, amount: take });
    wanted -= take;
  }
  return wanted > 0 ? undefined : allocations;
}
