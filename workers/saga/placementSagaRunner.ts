import {
  failureReason,
  nextPlacementAction,
  PlacementStepId,
  type PlacementAction,
  type PlacementSagaState,
  type PlacementStepIdName,
} from '../../domain/placementSaga.js';
import { loadSagas, scheduleSagas, type SagaRecord } from './sagaStore.js';
import { commitBatch, type StepApplyMany, type StepContext } from './stepContext.js';
import { applyAuthorizations, requestAuthorization, type AuthorizationAnswer } from './steps/authorizePayment.js';
import { applyFraudChecks } from './steps/checkFraud.js';
import { applyVoids, releaseInventory, requestVoid, type VoidAnswer } from './steps/compensations.js';
import { applyConfirmations, applyRejections } from './steps/finish.js';
import { reserveInventory, StockMoved, takeReservedStock } from './steps/reserveInventory.js';

export type DriveOutcome = 'completed' | 'failed' | 'waiting' | 'missing';

/** How driving one saga of a batch ended: where it stands now, or the error that stopped it. */
export type DriveResult = { readonly outcome: DriveOutcome } | { readonly error: unknown };

/** Guards against a workflow bug looping forever: a placement saga needs far fewer steps than this. */
const MAX_STEPS_PER_DRIVE = 50;

/** Steps without a partner call, which follow in the same transaction as the step before them. */
const LOCAL_FOLLOW_UPS: ReadonlySet<PlacementAction['kind']> = new Set([
  PlacementStepId.confirmOrder,
  PlacementStepId.releaseInventory,
  PlacementStepId.rejectOrder,
]);

/** An action that runs steps (not `done`, not `wait`). */
type StepAction = Exclude<PlacementAction, { kind: 'done' | 'wait' }>;

interface Planned {
  readonly saga: SagaRecord;
  readonly action: StepAction;
}

/**
 * Drives placement sagas in batches as far as they can go now: load the batch's recorded state in one
 * query, ask the pure workflow for each saga's next action, and run one round for the whole batch —
 * the partner calls concurrently per order (each bounded by the PSP client's timeout), then ONE
 * transaction recording every saga's step, set-based, with the steps without a partner call that
 * follow at once (confirmation; release and rejection after a decline). Again, until every saga is
 * finished or waits for a retry. A new order takes two transactions: reservation, then authorization,
 * fraud check and confirmation. A single saga is a batch of one. Safe to call twice for the same saga at
 * once, or again after a crash: every step re-checks its record under the saga's row lock, and partner
 * calls carry stable idempotency keys.
 */
export class PlacementSagaRunner {
  constructor(
    private readonly context: StepContext,
    private readonly retryDeadlineMs: number,
  ) {}

  /** One saga: a batch of one. */
  async drive(sagaId: string): Promise<DriveOutcome> {
    const result = (await this.driveBatch([sagaId])).get(sagaId);
    if (result === undefined) throw new Error(`saga ${sagaId} was not driven`);
    if ('error' in result) throw result.error;
    return result.outcome;
  }

  /** Every saga of the batch, each to where it can go now; one saga's failure does not fail the others. */
  async driveBatch(sagaIds: readonly string[]): Promise<Map<string, DriveResult>> {
    const results = new Map<string, DriveResult>();
    const loaded = await loadSagas(this.context.pool, [...new Set(sagaIds)]);
    for (const sagaId of sagaIds) if (!loaded.has(sagaId)) results.set(sagaId, { outcome: 'missing' });
    await this.advance([...loaded.values()], results);
    return results;
  }

  private async advance(start: readonly SagaRecord[], results: Map<string, DriveResult>): Promise<void> {
    let active = start;
    for (let round = 0; active.length > 0; round++) {
      if (round === MAX_STEPS_PER_DRIVE) {
        for (const saga of active) {
          results.set(saga.saga_id, {
            error: new Error(`saga ${saga.saga_id} did not settle within ${MAX_STEPS_PER_DRIVE} steps`),
          });
        }
        return;
      }
      const working: Planned[] = [];
      const waits: Array<{ sagaId: string; at: string }> = [];
      for (const saga of active) {
        const action = this.next(saga);
        this.context.logger.debug({ saga_id: saga.saga_id, order_id: saga.order_id, action: action.kind }, 'saga step');
        if (action.kind === 'done') results.set(saga.saga_id, { outcome: saga.status === 'completed' ? 'completed' : 'failed' });
        else if (action.kind === 'wait') waits.push({ sagaId: saga.saga_id, at: action.until });
        else working.push({ saga, action });
      }
      if (waits.length > 0) {
        await scheduleSagas(this.context.pool, waits);
        for (const { sagaId } of waits) results.set(sagaId, { outcome: 'waiting' });
      }
      if (working.length === 0) return;
      try {
        active = await this.runRound(working, results);
      } catch (error) {
        if (error instanceof StockMoved) {
          // Another order took the stock between our read and our reservation: read again.
          this.context.logger.debug({ sagas: working.length }, 'stock moved; reserving again');
          active = working.map((w) => w.saga);
        } else if (working.length === 1) {
          results.set(working[0]?.saga.saga_id ?? '', { error });
          return;
        } else {
          // One saga's failure must not hold up the others: each goes on as a batch of one.
          this.context.logger.warn({ err: error, sagas: working.length }, 'saga batch failed; driving its sagas one by one');
          await Promise.all(working.map((w) => this.advance([w.saga], results)));
          return;
        }
      }
    }
  }

  private next(state: PlacementSagaState): PlacementAction {
    return nextPlacementAction(state, { now: this.context.now(), retryDeadlineMs: this.retryDeadlineMs });
  }

  /**
   * One round for the batch: the partner calls concurrently per order, then one transaction for all.
   * Returns the sagas, with their new state, that took part.
   */
  private async runRound(working: readonly Planned[], results: Map<string, DriveResult>): Promise<SagaRecord[]> {
    const authorizations = new Map<string, AuthorizationAnswer>();
    const voids = new Map<string, VoidAnswer>();
    const failed = new Set<string>();
    await Promise.all(
      working.map(async ({ saga, action }) => {
        try {
          if (action.kind === 'run' && action.steps.includes(PlacementStepId.authorizePayment))
            authorizations.set(saga.saga_id, await requestAuthorization(this.context, saga));
          else if (action.kind === 'void_authorization') voids.set(saga.saga_id, await requestVoid(this.context, saga));
        } catch (error) {
          failed.add(saga.saga_id);
          results.set(saga.saga_id, { error });
        }
      }),
    );
    const sagas = working.filter(({ saga }) => !failed.has(saga.saga_id));
    if (sagas.length === 0) return [];
    const appliers: Record<PlacementStepIdName, StepApplyMany> = {
      [PlacementStepId.reserveInventory]: reserveInventory(this.context),
      [PlacementStepId.authorizePayment]: applyAuthorizations(this.context, authorizations),
      [PlacementStepId.checkFraud]: applyFraudChecks(this.context, authorizations),
      [PlacementStepId.voidAuthorization]: applyVoids(this.context, voids),
      [PlacementStepId.releaseInventory]: releaseInventory(this.context),
      [PlacementStepId.confirmOrder]: applyConfirmations(this.context),
      [PlacementStepId.rejectOrder]: applyRejections(this.context, (state) =>
        failureReason(state.steps, { now: this.context.now(), retryDeadlineMs: this.retryDeadlineMs }),
      ),
    };
    const states = await commitBatch(
      this.context,
      sagas.map(({ saga }) => saga),
      {
        steps: new Map(sagas.map(({ saga, action }) => [saga.saga_id, stepsOf(action)])),
        applier: (step) => appliers[step],
        follow: (state) => {
          const action = this.next(state);
          return LOCAL_FOLLOW_UPS.has(action.kind) ? (action.kind as PlacementStepIdName) : undefined;
        },
        lastly: takeReservedStock,
      },
    );
    return sagas.map(({ saga }) => ({ ...saga, ...(states.get(saga.saga_id) ?? {}) }));
  }
}

/** The steps an action runs. */
function stepsOf(action: StepAction): readonly PlacementStepIdName[] {
  switch (action.kind) {
    case 'run':
      return action.steps;
    case 'reserve_inventory':
    case 'void_authorization':
    case 'release_inventory':
    case 'confirm_order':
    case 'reject_order':
      return [action.kind];
    default:
      return assertNever(action);
  }
}

function assertNever(action: never): never {
  throw new Error(`unknown saga action ${JSON.stringify(action as PlacementAction)}`);
}
