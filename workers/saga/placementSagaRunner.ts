import {
  nextPlacementAction,
  PlacementStepId,
  type PlacementAction,
  type PlacementSagaState,
} from '../../domain/placementSaga.js';
import { loadSaga, type SagaRecord } from './sagaStore.js';
import { commitStep, commitSteps, type StepContext, type StepToCommit } from './stepContext.js';
import { applyAuthorization, requestAuthorization } from './steps/authorizePayment.js';
import { applyFraudCheck, assessOrderFraud } from './steps/checkFraud.js';
import { releaseInventory, voidAuthorization } from './steps/compensations.js';
import { applyConfirmation, applyRejection } from './steps/finish.js';
import { reserveInventory, StockMoved } from './steps/reserveInventory.js';

export type DriveOutcome = 'completed' | 'failed' | 'waiting' | 'missing';

/** Guards against a workflow bug looping forever: a placement saga needs far fewer steps than this. */
const MAX_STEPS_PER_DRIVE = 50;

/**
 * Drives a placement saga as far as it can go now: load its recorded state once, ask the pure workflow
 * for the next action, run it (each step records its result and returns the state it committed), and
 * again, until the saga is finished or waits for a retry. Payment authorization and the fraud check
 * call their partners side by side and are recorded in one transaction, with the confirmation when
 * the workflow says it follows. Safe to call twice for the same saga at once, or again after a crash:
 * every step re-checks its record under the saga's row lock, and partner calls carry stable
 * idempotency keys.
 */
export class PlacementSagaRunner {
  constructor(
    private readonly context: StepContext,
    private readonly retryDeadlineMs: number,
  ) {}

  async drive(sagaId: string): Promise<DriveOutcome> {
    const loaded = await loadSaga(this.context.pool, sagaId);
    if (loaded === undefined) return 'missing';
    let saga: SagaRecord = loaded;
    const advance = (state: PlacementSagaState) => {
      saga = { ...saga, ...state };
    };
    for (let step = 0; step < MAX_STEPS_PER_DRIVE; step++) {
      const action = this.next(saga);
      this.context.logger.debug({ saga_id: sagaId, order_id: saga.order_id, action: action.kind }, 'saga step');
      switch (action.kind) {
        case 'done':
          return saga.status === 'completed' ? 'completed' : 'failed';
        case 'wait':
          await this.context.pool.query('UPDATE sagas SET next_attempt_at = $2 WHERE saga_id = $1', [sagaId, action.until]);
          return 'waiting';
        case 'reserve_inventory':
          try {
            advance(await reserveInventory(this.context, saga));
          } catch (error) {
            // Another order took the stock between our read and our reservation: read again.
            if (!(error instanceof StockMoved)) throw error;
            this.context.logger.debug({ saga_id: sagaId, order_id: saga.order_id }, 'stock moved; reserving again');
          }
          break;
        case 'run':
          advance(await this.authorizeAndCheck(saga, action.steps));
          break;
        case 'void_authorization':
          advance(await voidAuthorization(this.context, saga));
          break;
        case 'release_inventory':
          advance(await releaseInventory(this.context, saga));
          break;
        case 'confirm_order':
          advance(await commitStep(this.context, saga, PlacementStepId.confirmOrder, applyConfirmation(this.context, saga)));
          break;
        case 'reject_order':
          advance(
            await commitStep(this.context, saga, PlacementStepId.rejectOrder, applyRejection(this.context, saga, action.reason)),
          );
          break;
        default:
          assertNever(action);
      }
    }
    throw new Error(`saga ${sagaId} did not settle within ${MAX_STEPS_PER_DRIVE} steps`);
  }

  private next(state: PlacementSagaState): PlacementAction {
    return nextPlacementAction(state, { now: this.context.now(), retryDeadlineMs: this.retryDeadlineMs });
  }

  /** Both partner calls at once, then one transaction records them (and the confirmation, if it follows). */
  private async authorizeAndCheck(saga: SagaRecord, steps: readonly string[]): Promise<PlacementSagaState> {
    const [authorization, fraud] = await Promise.all([
      steps.includes(PlacementStepId.authorizePayment) ? requestAuthorization(this.context, saga) : undefined,
      steps.includes(PlacementStepId.checkFraud) ? assessOrderFraud(this.context, saga) : undefined,
    ]);
    const toCommit: StepToCommit[] = [];
    if (authorization !== undefined) {
      toCommit.push({ step: PlacementStepId.authorizePayment, apply: applyAuthorization(this.context, saga, authorization) });
    }
    if (fraud !== undefined)
      toCommit.push({ step: PlacementStepId.checkFraud, apply: applyFraudCheck(this.context, saga, fraud) });
    return commitSteps(this.context, saga, toCommit, (state) =>
      this.next(state).kind === 'confirm_order'
        ? { step: PlacementStepId.confirmOrder, apply: applyConfirmation(this.context, saga) }
        : undefined,
    );
  }
}

function assertNever(action: never): never {
  throw new Error(`unknown saga action ${JSON.stringify(action as PlacementAction)}`);
}
