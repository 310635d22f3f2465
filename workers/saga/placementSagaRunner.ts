import { nextPlacementAction, PlacementStepId, type PlacementAction } from '../../domain/placementSaga.js';
import { loadSaga } from './sagaStore.js';
import type { StepContext } from './stepContext.js';
import { authorizePayment } from './steps/authorizePayment.js';
import { checkFraud } from './steps/checkFraud.js';
import { releaseInventory, voidAuthorization } from './steps/compensations.js';
import { confirmOrder, rejectOrder } from './steps/finish.js';
import { reserveInventory } from './steps/reserveInventory.js';

export type DriveOutcome = 'completed' | 'failed' | 'waiting' | 'missing';

/** Guards against a workflow bug looping forever: a placement saga needs far fewer steps than this. */
const MAX_STEPS_PER_DRIVE = 20;

/**
 * Drives a placement saga as far as it can go now: load its recorded state, ask the pure workflow for
 * the next action, run it (each step records its own result), and again, until the saga is finished
 * or waits for a retry. Safe to call twice for the same saga at once, or again after a crash: every
 * step re-checks its record under the saga's row lock, and partner calls carry stable idempotency keys.
 */
export class PlacementSagaRunner {
  constructor(
    private readonly context: StepContext,
    private readonly retryDeadlineMs: number,
  ) {}

  async drive(sagaId: string): Promise<DriveOutcome> {
    for (let step = 0; step < MAX_STEPS_PER_DRIVE; step++) {
      const saga = await loadSaga(this.context.pool, sagaId);
      if (saga === undefined) return 'missing';
      const action = nextPlacementAction(saga, { now: this.context.now(), retryDeadlineMs: this.retryDeadlineMs });
      this.context.logger.debug({ saga_id: sagaId, order_id: saga.order_id, action: action.kind }, 'saga step');
      switch (action.kind) {
        case 'done':
          return saga.status === 'completed' ? 'completed' : 'failed';
        case 'wait':
          await this.context.pool.query('UPDATE sagas SET next_attempt_at = $2 WHERE saga_id = $1', [sagaId, action.until]);
          return 'waiting';
        case 'reserve_inventory':
          await reserveInventory(this.context, saga);
          break;
        case 'run':
          await Promise.all(
            action.steps.map((id) =>
              id === PlacementStepId.authorizePayment ? authorizePayment(this.context, saga) : checkFraud(this.context, saga),
            ),
          );
          break;
        case 'void_authorization':
          await voidAuthorization(this.context, saga);
          break;
        case 'release_inventory':
          await releaseInventory(this.context, saga);
          break;
        case 'confirm_order':
          await confirmOrder(this.context, saga);
          break;
        case 'reject_order':
          await rejectOrder(this.context, saga, action.reason);
          break;
        default:
          assertNever(action);
      }
    }
    throw new Error(`saga ${sagaId} did not settle within ${MAX_STEPS_PER_DRIVE} steps`);
  }
}

function assertNever(action: never): never {
  throw new Error(`unknown saga action ${JSON.stringify(action as PlacementAction)}`);
}
