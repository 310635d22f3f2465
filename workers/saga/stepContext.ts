import type { OrderStatusName, SagaStatusName } from '../../domain/order.js';
import { nextRetry, type PlacementSagaState, type PlacementStepIdName, type Retrying } from '../../domain/placementSaga.js';
import type { Pool, PoolClient } from '../../platform/db.js';
import type { Logger } from '../../platform/logger.js';
import type { PspClient, PspUnavailable } from '../../platform/psp.js';
import { appendToOrders, type NewEvent } from '../../store/eventStore.js';
import { recordSteps, withLockedSagas, type SagaRecord, type StepsRecord } from './sagaStore.js';

/** What every saga step needs; time is passed in so tests can move it. */
export interface StepContext {
  readonly pool: Pool;
  readonly psp: PspClient;
  readonly logger: Logger;
  readonly now: () => Date;
  /** A running saga not touched for this long is picked up again by the due-saga poller. */
  readonly leaseMs: number;
}

/** What a step records for one saga: its result, its events, and what it changes of the saga and the order. */
export interface StepApplied {
  readonly result: unknown;
  readonly events?: readonly NewEvent[];
  readonly status?: SagaStatusName;
  readonly orderStatus?: OrderStatusName;
  /** A retry's due time. Otherwise the lease (running) or never (finished). */
  readonly nextAttemptAt?: Date;
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

/** A saga a step runs for, with its state as recorded under the row lock (and the steps before it in this transaction). */
export interface StepTarget {
  readonly saga: SagaRecord;
  readonly state: PlacementSagaState;
}

/**
 * A step's writes for all the sagas that run it in this transaction, set-based (one statement per
 * table, not one per saga). Answers what each saga records; a saga left out records nothing for the
 * step (it is not due yet).
 */
export type StepApplyMany = (tx: PoolClient, targets: readonly StepTarget[]) => Promise<ReadonlyMap<string, StepApplied>>;

/** What each saga recorded in one batch transaction, step by step. */
export type AppliedSteps = ReadonlyArray<{
  readonly saga: SagaRecord;
  readonly steps: ReadonlyMap<PlacementStepIdName, StepApplied>;
}>;

export interface BatchPlan {
  /** The steps each saga (by id) runs, in order. */
  readonly steps: ReadonlyMap<string, readonly PlacementStepIdName[]>;
  /** How a step is applied to the sagas that run it. */
  readonly applier: (step: PlacementStepIdName) => StepApplyMany;
  /** A step without a partner call that follows at once, in the same transaction, when a saga's new state calls for it. */
  readonly follow?: (state: PlacementSagaState) => PlacementStepIdName | undefined;
  /**
   * Writes to make last, just before COMMIT, so row locks on hot rows (stock) are held as briefly as
   * possible. Throwing here rolls everything back.
   */
  readonly lastly?: (tx: PoolClient, applied: AppliedSteps) => Promise<void>;
}

/** A batch runs a handful of steps per saga at most (authorize, check fraud, release, reject …). */
const MAX_STEPS_PER_COMMIT = 10;

const isRecorded = (state: PlacementSagaState, step: PlacementStepIdName) => {
  const previous = state.steps[step] as { status?: string } | undefined;
  return previous !== undefined && previous.status !== 'retrying';
};

/**
 * The one way steps record their outcome, for a whole batch of sagas in one transaction holding their
 * row locks: each saga's steps not yet recorded (a `retrying` record may be replaced) make their
 * writes, step by step, all sagas running a step at once; then, for each saga that recorded anything,
 * the steps `follow` names as its new state calls for them; then all results are recorded in
 * step_results (one statement) and each order's events appended in order. A step already recorded — by
 * another delivery or worker — is skipped, which is what makes a redelivered message harmless.
 * Returns each saga's state as committed.
 */
export async function commitBatch(
  context: StepContext,
  sagas: readonly SagaRecord[],
  plan: BatchPlan,
): Promise<Map<string, PlacementSagaState>> {
  return withLockedSagas(
    context.pool,
    sagas.map((s) => s.saga_id),
    async (tx, locked) => {
      const states = new Map(locked);
      const queues = new Map(sagas.map((s) => [s.saga_id, [...(plan.steps.get(s.saga_id) ?? [])]]));
      const applied = new Map<string, Map<PlacementStepIdName, StepApplied>>();
      for (let round = 0; round < MAX_STEPS_PER_COMMIT; round++) {
        const byStep = new Map<PlacementStepIdName, StepTarget[]>();
        for (const saga of sagas) {
          const state = states.get(saga.saga_id);
          if (state === undefined) continue;
          const queue = queues.get(saga.saga_id) ?? [];
          let step = queue.shift();
          while (step !== undefined && isRecorded(state, step)) step = queue.shift();
          if (step === undefined && applied.has(saga.saga_id)) {
            const follow = plan.follow?.(state);
            if (follow !== undefined && !isRecorded(state, follow)) step = follow;
          }
          if (step === undefined) continue;
          const targets = byStep.get(step);
          if (targets === undefined) byStep.set(step, [{ saga, state }]);
          else targets.push({ saga, state });
        }
        if (byStep.size === 0) break;
        for (const [step, targets] of byStep) {
          const results = await plan.applier(step)(tx, targets);
          for (const { saga, state } of targets) {
            const result = results.get(saga.saga_id);
            if (result === undefined) continue;
            const mine = applied.get(saga.saga_id) ?? new Map<PlacementStepIdName, StepApplied>();
            mine.set(step, result);
            applied.set(saga.saga_id, mine);
            states.set(saga.saga_id, { status: result.status ?? state.status, steps: { ...state.steps, [step]: result.result } });
          }
        }
      }
      if (applied.size === 0) return states;

      const records: StepsRecord[] = [];
      for (const [sagaId, steps] of applied) {
        const state = states.get(sagaId) as PlacementSagaState;
        const finished = state.status === 'completed' || state.status === 'failed';
        const retries = [...steps.values()].flatMap((a) => (a.nextAttemptAt ? [a.nextAttemptAt.getTime()] : []));
        const nextAttemptAt = finished
          ? null
          : retries.length > 0
            ? new Date(Math.min(...retries))
            : new Date(context.now().getTime() + context.leaseMs);
        records.push({
          sagaId,
          results: Object.fromEntries([...steps].map(([step, a]) => [step, a.result])),
          currentStep: [...steps.keys()].at(-1) ?? '',
          status: state.status,
          nextAttemptAt,
        });
      }
      await recordSteps(tx, records);
      // Every order's events of this round in one statement.
      await appendToOrders(
        tx,
        sagas.map((saga) => {
          const steps = [...(applied.get(saga.saga_id)?.values() ?? [])];
          const orderStatus = steps.map((a) => a.orderStatus).findLast((s) => s !== undefined);
          return {
            orderId: saga.order_id,
            events: steps.flatMap((a) => a.events ?? []),
            ...(orderStatus === undefined ? {} : { status: orderStatus }),
          };
        }),
      );
      await plan.lastly?.(
        tx,
        sagas.flatMap((saga) => {
          const steps = applied.get(saga.saga_id);
          return steps === undefined ? [] : [{ saga, steps }];
        }),
      );
      return states;
    },
  );
}
