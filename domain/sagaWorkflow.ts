import type { SagaStatusName } from './order.js';
import { PARTNER_BACKOFF, retryDelayMs } from './retryPolicy.js';

/**
 * What every saga workflow shares (placement, cancellation, modification, refund): its state is the
 * recorded result of each step, and a pure `next…Action(state, …, timing)` says what to do next — a
 * step to run, a time to wait until, or nothing more. Each step's id is stable: it names the step in
 * `step_results`.
 */
export interface SagaState<Steps> {
  readonly status: SagaStatusName;
  readonly steps: Steps;
}

export function isFinished(status: SagaStatusName): boolean {
  return status === 'completed' || status === 'failed';
}

/** Nothing to do now: drive the saga again at `until` (a partner or another worker to wait for). */
export interface Wait {
  readonly kind: 'wait';
  readonly until: string;
}

/** Nothing more to do: the saga is finished. */
export interface Done {
  readonly kind: 'done';
}

/** The wait of `ms` from now. */
export function waitFor(now: Date, ms: number): Wait {
  return { kind: 'wait', until: new Date(now.getTime() + ms).toISOString() };
}

/** A partner call that failed without an answer, to be tried again. */
export interface Retrying {
  readonly status: 'retrying';
  readonly attempts: number;
  readonly first_failure_at: string;
  readonly next_attempt_at: string;
  readonly last_error: string;
}

export function isDue(result: Retrying, now: Date): boolean {
  return Date.parse(result.next_attempt_at) <= now.getTime();
}

/** Whether `startedAt` (a first failure, a saga's start) is at least `deadlineMs` before now. */
export function pastDeadline(startedAt: string, now: Date, deadlineMs: number): boolean {
  return now.getTime() - Date.parse(startedAt) >= deadlineMs;
}

/**
 * The record of one more failed attempt at a partner call, due after the partner backoff (full jitter,
 * domain/retryPolicy). `retryAfterMs`, when the caller knows it (an open circuit breaker says when it
 * will let a call through), comes first, the jitter on top.
 */
export function nextRetry(
  previous: Retrying | undefined,
  error: string,
  now: Date,
  retryAfterMs?: number,
  random: () => number = Math.random,
): Retrying {
  const attempts = (previous?.attempts ?? 0) + 1;
  return {
    status: 'retrying',
    attempts,
    first_failure_at: previous?.first_failure_at ?? now.toISOString(),
    next_attempt_at: new Date(now.getTime() + retryDelayMs(PARTNER_BACKOFF, attempts, retryAfterMs, random)).toISOString(),
    last_error: error,
  };
}

/**
 * When a change saga asks a partner that did not answer again: the partner backoff's first step after
 * the partner's own hint. A change saga records no attempts (its steps are recorded only once they
 * have an answer), so every wait is a first one.
 */
export function waitForPartner(now: Date, retryAfterMs?: number, random: () => number = Math.random): Wait {
  return { kind: 'wait', until: nextRetry(undefined, '', now, retryAfterMs, random).next_attempt_at };
}

/**
 * The compensations still to run, in reverse order of the forward steps (Medusa's habit: each step
 * declared next to its compensation): for each forward step that took effect, latest first, its
 * compensation unless that is done already.
 */
export function compensationsToRun<Forward extends string, Compensation extends string>(
  compensations: Readonly<Record<Forward, Compensation>>,
  forwardOrder: readonly Forward[],
  tookEffect: (step: Forward) => boolean,
  done: (compensation: Compensation) => boolean,
): Compensation[] {
  return [...forwardOrder]
    .reverse()
    .filter(tookEffect)
    .map((step) => compensations[step])
    .filter((compensation) => !done(compensation));
}
