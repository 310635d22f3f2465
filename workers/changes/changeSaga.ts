import type { SagaStatusName } from '../../domain/order.js';
import type { SagaTypeName } from '../../domain/sagaType.js';
import { waitForPartner, type Wait } from '../../domain/sagaWorkflow.js';
import { withTransaction, type Pool, type PoolClient } from '../../platform/db.js';
import { metrics } from '../../platform/metrics.js';
import { PspUnavailable } from '../../platform/psp.js';
import type { ChangeContext, StepOutcome } from './changeContext.js';

/** A saga of a change after placement (cancellation, modification, refund), as recorded in `sagas`. */
export interface ChangeSaga {
  readonly saga_id: string;
  readonly order_id: string;
  readonly saga_type: SagaTypeName;
  readonly status: SagaStatusName;
  /** step_results: each workflow in domain/ reads them as its own steps. */
  readonly steps: Readonly<Record<string, unknown>>;
  readonly created_at: Date;
}

export async function loadChangeSaga(db: Pool | PoolClient, sagaId: string, lock = false): Promise<ChangeSaga | undefined> {
  const result = await db.query<ChangeSaga>(
    `SELECT saga_id, order_id, saga_type, status, step_results AS steps, created_at
       FROM sagas WHERE saga_id = $1${lock ? ' FOR UPDATE' : ''}`,
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
 * got there first) is skipped. Drivers run steps one at a time, so a redelivered event, the due poller
 * and a restarted worker all resume from the last recorded step. Answers `done` when the step ended
 * the saga, else `progressed` (drive again now).
 */
export async function commitChangeStep(
  context: ChangeContext,
  saga: ChangeSaga,
  step: string,
  apply: (tx: PoolClient, saga: ChangeSaga) => Promise<ChangeStepApplied>,
): Promise<StepOutcome> {
  const started = performance.now();
  let finishedAs: SagaStatusName | undefined;
  const observe = (outcome: string) =>
    metrics.sagaStepDuration.observe({ saga: saga.saga_type, step, outcome }, (performance.now() - started) / 1000);
  const committed = withTransaction(context.pool, async (tx) => {
    const locked = await loadChangeSaga(tx, saga.saga_id, true);
    if (locked === undefined || locked.steps[step] !== undefined || locked.status === 'completed' || locked.status === 'failed')
      return 'progressed';
    const applied = await apply(tx, locked);
    const status = applied.status ?? locked.status;
    const finished = status === 'completed' || status === 'failed';
    await tx.query(
      `UPDATE sagas SET step_results = step_results || jsonb_build_object($2::text, $3::jsonb), current_step = $2, status = $4,
              updated_at = now(),
              next_attempt_at = CASE WHEN $5 THEN NULL ELSE now() + make_interval(secs => $6::double precision / 1000) END
        WHERE saga_id = $1`,
      [saga.saga_id, step, JSON.stringify(applied.result), status, finished, context.leaseMs],
    );
    if (finished) finishedAs = status;
    return finished ? 'done' : 'progressed';
  });
  return committed.then(
    (outcome) => {
      observe('ok');
      if (finishedAs !== undefined) metrics.sagasFinished.inc({ saga: saga.saga_type, outcome: finishedAs });
      return outcome;
    },
    (error: unknown) => {
      observe('error');
      throw error;
    },
  );
}

/** The workflow waits (a partner, the WMS, the placement saga): the saga is driven again at `until`, without counting as progress. */
export async function waitUntil(context: ChangeContext, saga: ChangeSaga, wait: Wait): Promise<'waiting'> {
  await context.pool.query(
    `UPDATE sagas SET next_attempt_at = $2::timestamptz WHERE saga_id = $1 AND status IN ('running', 'compensating')`,
    [saga.saga_id, wait.until],
  );
  return 'waiting';
}

/**
 * A PSP that did not answer: the saga is driven again once the circuit breaker lets a call through
 * (with jitter, so waiting sagas do not all call at once: domain/sagaWorkflow's waitForPartner), and
 * the step waits. Any other error is thrown on.
 */
export async function waitForPsp(context: ChangeContext, saga: ChangeSaga, error: unknown): Promise<'waiting'> {
  if (!(error instanceof PspUnavailable)) throw error;
  return waitUntil(context, saga, waitForPartner(nowOf(context), error.retryAfterMs));
}

export function nowOf(context: ChangeContext): Date {
  return context.now?.() ?? new Date();
}
