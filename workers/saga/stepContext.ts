import type { OrderStatusName, SagaStatusName } from '../../domain/order.js';
import { nextRetry, type PlacementSagaState, type PlacementStepIdName, type Retrying } from '../../domain/placementSaga.js';
import type { Pool, PoolClient } from '../../platform/db.js';
import { appendToOrder, type NewEvent } from '../../platform/eventStore.js';
import type { Logger } from '../../platform/logger.js';
import type { PspClient, PspUnavailable } from '../../platform/psp.js';
import { recordSteps, withLockedSaga, type SagaRecord } from './sagaStore.js';

/** What every saga step needs; time is passed in so tests can move it. */
export interface StepContext {
  readonly pool: Pool;
  readonly psp: PspClient;
  readonly logger: Logger;
  readonly now: () => Date;
  /** A running saga not touched for this long is picked up again by the due-saga poller. */
  readonly leaseMs: number;
}

/** What a step records: its result, its events, and what it changes of the saga and the order. */
export interface StepApplied {
  readonly result: unknown;
  readonly events?: readonly NewEvent[];
  readonly status?: SagaStatusName;
  readonly orderStatus?: OrderStatusName;
  /** A retry's due time. Otherwise the lease (running) or never (finished). */
  readonly nextAttemptAt?: Date;
  /**
   * Writes to make last, just before COMMIT, so row locks on hot rows (stock) are held as briefly as
   * possible. Throwing here rolls everything back.
   */
  readonly lastly?: (tx: PoolClient) => Promise<void>;
}

/**
 * What a step records when its partner did not answer: one more attempt, due when the backoff says or,
 * with an open circuit breaker, when the breaker will let a call through.
 */
export function retryLater(
  context: StepContext,
  previous: unknown,
  unavailable: PspUnavailable,
): StepApplied & { readonly result: Retrying } {
  const retry = nextRetry(previous as Retrying | undefined, unavailable.message, context.now(), unavailable.retryAfterMs);
  return { result: retry, nextAttemptAt: new Date(retry.next_attempt_at) };
}

/** A step's writes inside the commit transaction (the saga row is locked; `state` is as recorded). */
export type StepApply = (tx: PoolClient, state: PlacementSagaState) => Promise<StepApplied>;

export interface StepToCommit {
  readonly step: PlacementStepIdName;
  readonly apply: StepApply;
}

/**
 * The one way steps record their outcome: in one transaction holding the saga's row lock, each step
 * not yet recorded (a `retrying` record may be replaced) makes its writes; then, if `then` names a
 * step that now follows (the workflow asked again with the new state), that one too; then all results
 * are recorded in step_results and all events appended in order. A step already recorded — by another
 * delivery or worker — is skipped, which is what makes a redelivered message harmless. Returns the
 * saga's state as committed.
 */
export async function commitSteps(
  context: StepContext,
  saga: SagaRecord,
  steps: readonly StepToCommit[],
  then?: (state: PlacementSagaState) => StepToCommit | undefined,
): Promise<PlacementSagaState> {
  return withLockedSaga(context.pool, saga.saga_id, async (tx, locked) => {
    let state = locked;
    const records: Array<readonly [PlacementStepIdName, StepApplied]> = [];
    const run = async ({ step, apply }: StepToCommit) => {
      const previous = state.steps[step] as { status?: string } | undefined;
      if (previous !== undefined && previous.status !== 'retrying') return;
      const applied = await apply(tx, state);
      records.push([step, applied]);
      state = { status: applied.status ?? state.status, steps: { ...state.steps, [step]: applied.result } };
    };
    for (const step of steps) await run(step);
    const follow = records.length > 0 ? then?.(state) : undefined;
    if (follow) await run(follow);
    if (records.length === 0) return state;

    const finished = state.status === 'completed' || state.status === 'failed';
    const retries = records.flatMap(([, a]) => (a.nextAttemptAt ? [a.nextAttemptAt.getTime()] : []));
    const nextAttemptAt = finished
      ? null
      : retries.length > 0
        ? new Date(Math.min(...retries))
        : new Date(context.now().getTime() + context.leaseMs);
    await recordSteps(tx, saga.saga_id, {
      results: Object.fromEntries(records.map(([step, a]) => [step, a.result])),
      currentStep: records[records.length - 1]?.[0] ?? '',
      status: state.status,
      nextAttemptAt,
    });
    const events = records.flatMap(([, a]) => a.events ?? []);
    const orderStatus = records.map(([, a]) => a.orderStatus).findLast((s) => s !== undefined);
    if (events.length > 0)
      await appendToOrder(tx, saga.order_id, events, orderStatus === undefined ? {} : { status: orderStatus });
    for (const [, applied] of records) if (applied.lastly) await applied.lastly(tx);
    return state;
  });
}

/** One step alone. */
export function commitStep(
  context: StepContext,
  saga: SagaRecord,
  step: PlacementStepIdName,
  apply: StepApply,
): Promise<PlacementSagaState> {
  return commitSteps(context, saga, [{ step, apply }]);
}
