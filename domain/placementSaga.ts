import type { Allocation } from './reservation.js';
import { compensationsToRun, isDue, pastDeadline, type Retrying } from './sagaWorkflow.js';

export { nextRetry, type Retrying } from './sagaWorkflow.js';

/**
 * The placement saga as a pure workflow (contract §5): reserve inventory → authorize payment and check
 * fraud on the risk signal the authorization answers with (one PSP call, both recorded together) →
 * confirm; on failure compensate in reverse (void the authorization, release the stock) and reject.
 * Its state is the recorded result of each step (the `step_results` column); given that state and the
 * time, `nextPlacementAction` says what to do next. Each step's id is stable: it names the step in
 * `step_results` and is part of the step's idempotency key.
 */
export const PlacementStepId = Object.freeze({
  reserveInventory: 'reserve_inventory',
  authorizePayment: 'authorize_payment',
  checkFraud: 'check_fraud',
  voidAuthorization: 'void_authorization',
  releaseInventory: 'release_inventory',
  confirmOrder: 'confirm_order',
  rejectOrder: 'reject_order',
} as const);
export type PlacementStepIdName = (typeof PlacementStepId)[keyof typeof PlacementStepId];

/** Each forward step next to its compensation (Medusa's habit): what undoes what. */
export const Compensation = Object.freeze({
  [PlacementStepId.reserveInventory]: PlacementStepId.releaseInventory,
  [PlacementStepId.authorizePayment]: PlacementStepId.voidAuthorization,
} as const);
/** The forward steps that may need undoing, in the order they run (compensations run in reverse). */
const COMPENSATED_IN_ORDER = [PlacementStepId.reserveInventory, PlacementStepId.authorizePayment] as const;

export const RejectionReason = Object.freeze({
  insufficientStock: 'insufficient-stock',
  paymentDeclined: 'payment-declined',
  paymentUnavailable: 'payment-unavailable',
  fraudRejected: 'fraud-rejected',
  fraudCheckUnavailable: 'fraud-check-unavailable',
} as const);
export type RejectionReasonName = (typeof RejectionReason)[keyof typeof RejectionReason];

export type ReserveResult =
  | { readonly status: 'succeeded'; readonly at: string; readonly reservations: readonly Allocation[] }
  | {
      readonly status: 'failed';
      readonly at: string;
      readonly reason: typeof RejectionReason.insufficientStock;
      readonly shortages: ReadonlyArray<{ sku: string; requested: number; available: number }>;
    };

export type AuthorizeResult =
  | {
      readonly status: 'succeeded';
      readonly at: string;
      readonly payment_id: string;
      readonly authorization_id: string;
      readonly amount: number;
      readonly risk_level: string;
    }
  | {
      readonly status: 'failed';
      readonly at: string;
      readonly reason: typeof RejectionReason.paymentDeclined;
      readonly code: string;
    }
  | Retrying;

export type FraudResult =
  | { readonly status: 'succeeded'; readonly at: string; readonly score: number; readonly reasons: readonly string[] }
  | {
      readonly status: 'failed';
      readonly at: string;
      readonly reason: typeof RejectionReason.fraudRejected;
      readonly score: number;
      readonly reasons: readonly string[];
    }
  | { readonly status: 'skipped'; readonly at: string; readonly reason: string }
  | Retrying;

export type VoidResult =
  | {
      readonly status: 'succeeded';
      readonly at: string;
      readonly outcome: 'voided' | 'nothing-to-void' | 'refused';
      readonly authorization_ids: readonly string[];
    }
  | Retrying;

export interface DoneResult {
  readonly status: 'succeeded';
  readonly at: string;
  readonly [detail: string]: unknown;
}

export interface PlacementSteps {
  readonly reserve_inventory?: ReserveResult;
  readonly authorize_payment?: AuthorizeResult;
  readonly check_fraud?: FraudResult;
  readonly void_authorization?: VoidResult;
  readonly release_inventory?: DoneResult;
  readonly confirm_order?: DoneResult;
  readonly reject_order?: DoneResult & { readonly reason?: string };
}

export interface PlacementSagaState {
  readonly status: 'running' | 'compensating' | 'completed' | 'failed';
  readonly steps: PlacementSteps;
}

export type ForwardStep = typeof PlacementStepId.authorizePayment | typeof PlacementStepId.checkFraud;

export type PlacementAction =
  | { readonly kind: 'reserve_inventory' }
  /** Run these steps side by side (payment authorization ∥ fraud check). */
  | { readonly kind: 'run'; readonly steps: readonly ForwardStep[] }
  | { readonly kind: 'void_authorization' }
  | { readonly kind: 'release_inventory' }
  | { readonly kind: 'confirm_order' }
  | { readonly kind: 'reject_order'; readonly reason: RejectionReasonName }
  | { readonly kind: 'wait'; readonly until: string }
  | { readonly kind: 'done' };

export interface Timing {
  readonly now: Date;
  /** How long after its first failure a partner call is still retried before the saga gives up. */
  readonly retryDeadlineMs: number;
}

function expired(result: Retrying, timing: Timing): boolean {
  return pastDeadline(result.first_failure_at, timing.now, timing.retryDeadlineMs);
}

/** Why the saga must fail, once it is known; undefined while it may still succeed. */
export function failureReason(steps: PlacementSteps, timing: Timing): RejectionReasonName | undefined {
  const { reserve_inventory: reserve, authorize_payment: auth, check_fraud: fraud } = steps;
  if (reserve?.status === 'failed') return reserve.reason;
  if (auth?.status === 'failed') return auth.reason;
  if (fraud?.status === 'failed') return fraud.reason;
  if (auth?.status === 'retrying' && expired(auth, timing)) return RejectionReason.paymentUnavailable;
  if (fraud?.status === 'retrying' && expired(fraud, timing)) return RejectionReason.fraudCheckUnavailable;
  return undefined;
}

export function nextPlacementAction(state: PlacementSagaState, timing: Timing): PlacementAction {
  if (state.status === 'completed' || state.status === 'failed') return { kind: 'done' };
  const steps = state.steps;
  if (steps.reserve_inventory === undefined) return { kind: 'reserve_inventory' };

  const reason = failureReason(steps, timing);
  if (reason !== undefined) {
    // Compensate in reverse order of the forward steps: the authorization (which an unanswered call
    // may hold too), then the stock.
    const [undo] = compensationsToRun(
      Compensation,
      COMPENSATED_IN_ORDER,
      (step) =>
        step === PlacementStepId.reserveInventory
          ? steps.reserve_inventory?.status === 'succeeded'
          : steps.authorize_payment?.status === 'succeeded' || steps.authorize_payment?.status === 'retrying',
      (compensation) =>
        compensation === PlacementStepId.voidAuthorization
          ? steps.void_authorization?.status === 'succeeded'
          : steps.release_inventory !== undefined,
    );
    const voided = steps.void_authorization;
    if (undo === PlacementStepId.voidAuthorization) {
      if (voided?.status === 'retrying' && !isDue(voided, timing.now)) return { kind: 'wait', until: voided.next_attempt_at };
      return { kind: 'void_authorization' };
    }
    if (undo === PlacementStepId.releaseInventory) return { kind: 'release_inventory' };
    return steps.reject_order === undefined ? { kind: 'reject_order', reason } : { kind: 'done' };
  }

  const due: ForwardStep[] = [];
  const waits: string[] = [];
  for (const [id, result] of [
    [PlacementStepId.authorizePayment, steps.authorize_payment],
    [PlacementStepId.checkFraud, steps.check_fraud],
  ] as const) {
    if (result === undefined) due.push(id);
    else if (result.status === 'retrying') {
      if (isDue(result, timing.now)) due.push(id);
      else waits.push(result.next_attempt_at);
    }
  }
  // The fraud check scores the risk signal the authorization answers with: while the authorization
  // waits for a retry, so does the check (a repeat customer's skip is recorded with the first attempt).
  const auth = steps.authorize_payment;
  if (auth?.status === 'retrying' && !due.includes(PlacementStepId.authorizePayment) && due.includes(PlacementStepId.checkFraud))
    due.splice(due.indexOf(PlacementStepId.checkFraud), 1);
  if (due.length > 0) return { kind: 'run', steps: due };
  if (waits.length > 0) return { kind: 'wait', until: waits.sort()[0] as string };
  return steps.confirm_order === undefined ? { kind: 'confirm_order' } : { kind: 'done' };
}
