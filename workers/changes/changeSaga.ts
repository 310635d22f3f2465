import type { SagaStatusName } from '../../domain/order.js';
import { withTransaction, type Pool, type PoolClient } from '../../platform/db.js';
import { PARTNER_BACKOFF, retryDelayMs } from '../../domain/retryPolicy.js';
import { PspUnavailable } from '../../platform/psp.js';

/** A saga of a change after placement (cancellation, refund), as recorded in `sagas`. */
export interface ChangeSaga {
  readonly saga_id: string;
  readonly order_id: string;
  readonly saga_type: string;
  readonly status: SagaStatusName;
  readonly steps: Readonly<Record<string, unknown>>;
}

export async function loadChangeSaga(db: Pool | PoolClient, sagaId: string, lock = false): Promise<ChangeSaga | undefined> {
  const result = await db.query<ChangeSaga>(
    `SELECT saga_id, order_id, saga_type, status, step_results AS steps FROM sagas WHERE saga_id = $1${lock ? ' FOR UPDATE' : ''}`,
    [sagaId],
  );
  return result.rows[0];
}

export interface ChangeStepApplied {
  readonly result: unknown;
  /** `completed` or `failed` ends the saga. */
  readonly status?: SagaStatusName;
}

/**
 * Records one step of a change saga in one transaction holding the saga's row lock: the step's writes
 * (apply), its result in step_results, and the saga's status. A step already recorded (another driver
 * got there first) is skipped: returns false. Drivers run steps one at a time, so a redelivered event,
 * the due poller and a restarted worker all resume from the last recorded step.
 */
export async function commitChangeStep(
  pool: Pool,
  sagaId: string,
  step: string,
  leaseMs: number,
  apply: (tx: PoolClient, saga: ChangeSaga) => Promise<ChangeStepApplied>,
): Promise<boolean> {
  return withTransaction(pool, async (tx) => {
    const saga = await loadChangeSaga(tx, sagaId, true);
    if (saga === undefined || saga.steps[step] !== undefined || saga.status === 'completed' || saga.status === 'failed')
      return false;
    const applied = await apply(tx, saga);
    const status = applied.status ?? saga.status;
    const finished = status === 'completed' || status === 'failed';
    await tx.query(
      `UPDATE sagas SET step_results = step_results || jsonb_build_object($2::text, $3::jsonb), current_step = $2, status = $4,
              updated_at = now(),
              next_attempt_at = CASE WHEN $5 THEN NULL ELSE now() + make_interval(secs => $6::double precision / 1000) END
        WHERE saga_id = $1`,
      [sagaId, step, JSON.stringify(applied.result), status, finished, leaseMs],
    );
    return true;
  });
}

/** Asks for the saga to be driven again after `ms` (a partner to wait for), without counting as progress. */
export async function driveAgainIn(pool: Pool, sagaId: string, ms: number): Promise<void> {
  await pool.query(
    `UPDATE sagas SET next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
      WHERE saga_id = $1 AND status IN ('running', 'compensating')`,
    [sagaId, ms],
  );
}

/**
 * A PSP that did not answer: the saga is driven again once the circuit breaker lets a call through
 * (with jitter, so waiting sagas do not all call at once), and the step waits. Any other error is thrown on.
 */
export async function waitForPsp(pool: Pool, sagaId: string, error: unknown): Promise<'waiting'> {
  if (!(error instanceof PspUnavailable)) throw error;
  await driveAgainIn(pool, sagaId, pspRetryDelayMs(error));
  return 'waiting';
}

/** When to ask an unanswering PSP again: the partner backoff (domain/retryPolicy) after its breaker's hint. */
export function pspRetryDelayMs(error: PspUnavailable): number {
  return retryDelayMs(PARTNER_BACKOFF, 1, error.retryAfterMs);
}
