import type { Address } from './order.js';
import { AT_WAREHOUSE, LEFT_WAREHOUSE } from './fulfillment.js';
import type { EditPlan } from './orderEdit.js';
import type { Allocation } from './reservation.js';
import {
  compensationsToRun,
  isFinished,
  pastDeadline,
  waitFor,
  waitForPartner,
  type Done,
  type SagaState,
  type Wait,
} from './sagaWorkflow.js';

/**
 * An order edit (PATCH, contract §4) as a pure workflow:
 * 1. hold: the WMS cancels the open shipments holding changed lines (all of them when the address
 *    changes), and the saga waits; a shipment that left first means a changed line shipped → rejected;
 * 2. reserve what grows (added lines, higher quantities) from live stock;
 * 3. authorize what the total grows by beyond what is authorized (a new authorization at the PSP; the
 *    sandbox cannot raise one), waiting up to the PSP deadline;
 * 4. apply: lines, prices, total and address change, what shrank is released, the new authorization
 *    becomes a payment, `order.modified` — and the router routes the lines no shipment holds;
 * 5. when the total went down, the authorizations shrink by the difference: in our books, then at the PSP.
 * A failure undoes what was done, latest first (the new authorization voided, the reservation given
 * back) and ends with `order.modification_rejected`; the order is as it was, its held lines routed again.
 */
export const ModificationStepId = Object.freeze({
  holdShipments: 'hold_shipments',
  reserve: 'reserve',
  authorize: 'authorize',
  apply: 'apply',
  releaseDecrease: 'release_decrease',
  releaseAtPsp: 'release_at_psp',
  reject: 'reject',
} as const);
export type ModificationStepIdName = (typeof ModificationStepId)[keyof typeof ModificationStepId];

/**
 * Each forward step next to its compensation: what undoes what. The compensations run as part of the
 * `reject` step (the void at the PSP first, then the stock given back in reject's transaction), so
 * they have no step record of their own.
 */
export const ModificationCompensation = Object.freeze({
  [ModificationStepId.reserve]: 'unreserve',
  [ModificationStepId.authorize]: 'void_authorization',
} as const);
export type ModificationCompensationName = (typeof ModificationCompensation)[keyof typeof ModificationCompensation];
const COMPENSATED_IN_ORDER = [ModificationStepId.reserve, ModificationStepId.authorize] as const;

export const ModificationRejection = Object.freeze({
  lineShipped: 'line_shipped',
  insufficientStock: 'insufficient_stock',
  paymentDeclined: 'payment_declined',
  paymentUnavailable: 'payment_unavailable',
} as const);
export type ModificationRejectionName = (typeof ModificationRejection)[keyof typeof ModificationRejection];

export const WAIT_FOR_WMS_MS = 250;

/** The edit as the command recorded it with the saga. */
export type ModificationRequest = EditPlan & { readonly shipping_address: Address | null };

/** A part of an authorization given back after the total went down. */
export interface AuthorizationRelease {
  readonly payment_id: string;
  readonly authorization_id: string;
  readonly amount: number;
}

export type AuthorizeResult =
  | {
      readonly status: 'succeeded';
      readonly payment_id: string;
      readonly authorization_id: string;
      readonly amount: number;
    }
  /** The total did not grow beyond what is authorized. */
  | { readonly status: 'skipped' }
  /** A PSP code, or payment_unavailable once the PSP deadline passed. */
  | { readonly status: 'failed'; readonly reason: string };

export interface ModificationSteps {
  readonly request: ModificationRequest;
  readonly hold_shipments?: { readonly status: 'succeeded'; readonly shipments: readonly string[] };
  readonly reserve?:
    | { readonly status: 'succeeded'; readonly allocations: readonly Allocation[] }
    | { readonly status: 'failed'; readonly allocations: readonly Allocation[]; readonly shortages: readonly unknown[] };
  readonly authorize?: AuthorizeResult;
  /** `release`: how much the authorizations hold beyond the new total (the saga ended here when none). */
  readonly apply?: { readonly status: 'succeeded'; readonly release?: number };
  readonly release_decrease?: { readonly status: 'succeeded'; readonly releases: readonly AuthorizationRelease[] };
  readonly release_at_psp?: { readonly status: 'succeeded' };
  readonly reject?: { readonly status: 'succeeded'; readonly reason: string };
}

export type ModificationState = SagaState<ModificationSteps> & {
  /** When the saga started: the PSP deadline counts from here. */
  readonly startedAt: string;
};

/** What the world looks like now, read before each step. */
export interface HeldShipmentsNow {
  /** The statuses of the shipments the hold step asked the WMS to cancel. */
  readonly statuses: readonly string[];
}

export type ModificationAction =
  | { readonly kind: 'hold_shipments' }
  | { readonly kind: 'reserve' }
  | { readonly kind: 'authorize' }
  | { readonly kind: 'apply' }
  /** Shrink the authorizations in our books by `amount`. */
  | { readonly kind: 'release_decrease'; readonly amount: number }
  /** Shrink them at the PSP as booked; the saga ends. */
  | { readonly kind: 'release_at_psp'; readonly releases: readonly AuthorizationRelease[] }
  /** Undo `undo` (in that order) and end the edit rejected. */
  | {
      readonly kind: 'reject';
      readonly reason: ModificationRejectionName;
      readonly undo: readonly ModificationCompensationName[];
    }
  | Wait
  | Done;

export interface ModificationTiming {
  readonly now: Date;
  /** How long an edit waits for a PSP that does not answer before it gives up and undoes itself. */
  readonly pspRetryDeadlineMs: number;
}

export function nextModificationAction(
  state: ModificationState,
  held: HeldShipmentsNow,
  timing: ModificationTiming,
): ModificationAction {
  if (isFinished(state.status)) return { kind: 'done' };
  const steps = state.steps;
  if (steps.hold_shipments === undefined) return { kind: 'hold_shipments' };
  if (steps.reserve === undefined) {
    if (held.statuses.some((s) => AT_WAREHOUSE.includes(s))) return waitFor(timing.now, WAIT_FOR_WMS_MS);
    if (held.statuses.some((s) => LEFT_WAREHOUSE.includes(s))) return reject(steps, ModificationRejection.lineShipped);
    return { kind: 'reserve' };
  }
  if (steps.reserve.status === 'failed') return reject(steps, ModificationRejection.insufficientStock);

  if (steps.apply !== undefined) {
    if (steps.release_decrease === undefined) return { kind: 'release_decrease', amount: steps.apply.release ?? 0 };
    return steps.release_at_psp === undefined
      ? { kind: 'release_at_psp', releases: steps.release_decrease.releases }
      : { kind: 'done' };
  }
  if (steps.authorize === undefined) return { kind: 'authorize' };
  if (steps.authorize.status === 'failed')
    return reject(
      steps,
      steps.authorize.reason === ModificationRejection.paymentUnavailable
        ? ModificationRejection.paymentUnavailable
        : ModificationRejection.paymentDeclined,
    );
  return { kind: 'apply' };
}

function reject(steps: ModificationSteps, reason: ModificationRejectionName): ModificationAction {
  if (steps.reject !== undefined) return { kind: 'done' };
  const undo = compensationsToRun(
    ModificationCompensation,
    COMPENSATED_IN_ORDER,
    (step) =>
      step === ModificationStepId.reserve
        ? steps.reserve?.status === 'succeeded'
        : // A PSP that never answered may still have authorized: whatever it holds for the edit is voided.
          steps.authorize?.status === 'succeeded' || reason === ModificationRejection.paymentUnavailable,
    () => false,
  );
  return { kind: 'reject', reason, undo };
}

/**
 * The PSP did not answer the authorization: ask again later, or, once the edit has waited past the
 * PSP deadline (counted from its start), record the authorization failed (the edit is then rejected).
 */
export function authorizationUnanswered(
  state: ModificationState,
  timing: ModificationTiming,
  retryAfterMs?: number,
): Wait | { readonly kind: 'record'; readonly result: AuthorizeResult } {
  if (pastDeadline(state.startedAt, timing.now, timing.pspRetryDeadlineMs))
    return { kind: 'record', result: { status: 'failed', reason: ModificationRejection.paymentUnavailable } };
  return waitForPartner(timing.now, retryAfterMs);
}
