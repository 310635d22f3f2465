import {
  failureReason,
  nextPlacementAction,
  PlacementStepId,
  type PlacementAction,
  type PlacementSagaState,
  type PlacementStepIdName,
} from '../../domain/placementSaga.js';
import { isUuid } from '../../platform/ids.js';
import { metrics } from '../../platform/metrics.js';
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
 * the partner calls concurrently per order (each bounded by the PSP client's timeout; a straggler far
 * slower than the rest goes on alone instead of holding the batch up), then ONE transaction recording
 * every saga's step, set-based, with the steps without a partner call that follow at once
 * (confirmation; release and rejection after a decline). Again, until every saga is finished or waits
 * for a retry. A batch of new orders takes two transactions: reservation, then authorization, fraud
 * check and confirmation. A single saga is a batch of one. Safe to call twice for the same saga at
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
    // A malformed id fails alone rather than the batch's query.
    for (const sagaId of sagaIds) if (!isUuid(sagaId)) results.set(sagaId, { error: new Error(`not a saga id: ${sagaId}`) });
    const loaded = await loadSagas(this.context.pool, [...new Set(sagaIds.filter(isUuid))]);
    for (const sagaId of sagaIds) if (!results.has(sagaId) && !loaded.has(sagaId)) results.set(sagaId, { outcome: 'missing' });
    await this.advance([...loaded.values()], results);
    return results;
  }

  /**
   * Rounds until every saga is finished, waits, or failed. `answered`: partner answers already in hand
   * for the first round (a straggler's, or a failed batch's handed on to its sagas one by one).
   */
  private async advance(
    start: readonly SagaRecord[],
    results: Map<string, DriveResult>,
    answered?: ReadonlyMap<string, PartnerAnswer>,
  ): Promise<void> {
    let active = start;
    let inHand = answered;
    const stragglers: Array<Promise<void>> = [];
    for (let round = 0; active.length > 0; round++) {
      if (round === MAX_STEPS_PER_DRIVE) {
        for (const saga of active) {
          results.set(saga.saga_id, {
            error: new Error(`saga ${saga.saga_id} did not settle within ${MAX_STEPS_PER_DRIVE} steps`),
          });
        }
        break;
      }
      const roundStarted = performance.now();
      const working: Planned[] = [];
      const waits: Array<{ sagaId: string; at: string }> = [];
      for (const saga of active) {
        const action = this.next(saga);
        this.context.logger.debug({ saga_id: saga.saga_id, order_id: saga.order_id, action: action.kind }, 'saga step');
        if (action.kind === 'done') {
          const outcome = saga.status === 'completed' ? 'completed' : 'failed';
          results.set(saga.saga_id, { outcome });
          metrics.sagasFinished.inc({ saga: 'placement', outcome });
          // One line per order at info: where an operator following the order sees the saga end.
          this.context.logger.info({ saga_id: saga.saga_id, order_id: saga.order_id, outcome }, 'placement saga finished');
        } else if (action.kind === 'wait') waits.push({ sagaId: saga.saga_id, at: action.until });
        else working.push({ saga, action });
      }
      if (waits.length > 0) {
        await scheduleSagas(this.context.pool, waits);
        for (const { sagaId } of waits) results.set(sagaId, { outcome: 'waiting' });
      }
      if (working.length === 0) break;

      // The partner calls, concurrently per order.
      const calls = new Map<string, Promise<PartnerAnswer>>();
      const answers = new Map<string, PartnerAnswer>();
      for (const planned of working) {
        const id = planned.saga.saga_id;
        const ready = inHand?.get(id);
        if (ready !== undefined && answersFor(planned.action, ready)) answers.set(id, ready);
        else if (needsPartner(planned.action)) calls.set(id, this.callPartner(planned));
        else answers.set(id, { kind: 'none' });
      }
      inHand = undefined;
      for (const [id, answer] of await settleUnlessStraggling(calls)) answers.set(id, answer);
      const inRound: Array<Planned & { readonly answer: PartnerAnswer }> = [];
      for (const planned of working) {
        const id = planned.saga.saga_id;
        const answer = answers.get(id);
        if (answer === undefined) {
          // A straggler (a PSP far slower for it than for the rest of the batch): it goes on alone once
          // answered (or timed out), and the batch does not wait for it.
          const call = calls.get(id) ?? this.callPartner(planned);
          stragglers.push(call.then((late) => this.advance([planned.saga], results, new Map([[id, late]]))));
        } else if (answer.kind === 'error') {
          results.set(id, { error: answer.error });
          observeSteps([planned], roundStarted, 'error');
        } else inRound.push({ ...planned, answer });
      }
      if (inRound.length === 0) break;

      try {
        const committed = await this.commitRound(inRound);
        observeSteps(inRound, roundStarted, 'ok');
        // A saga whose round changed nothing (no step could record, nobody else did) would only go
        // round again: it stops here with an error (its entry is retried, then dead-lettered).
        active = committed.filter((saga, i) => {
          const before = inRound[i]?.saga;
          if (before === undefined || saga.status !== before.status || !sameSteps(saga.steps, before.steps)) return true;
          results.set(saga.saga_id, { error: new Error(`saga ${saga.saga_id} made no progress at ${inRound[i]?.action.kind}`) });
          return false;
        });
      } catch (error) {
        observeSteps(inRound, roundStarted, error instanceof StockMoved ? 'stock_moved' : 'error');
        if (error instanceof StockMoved) {
          // Another order took the stock between our read and our reservation: read again.
          this.context.logger.debug({ sagas: inRound.length }, 'stock moved; reserving again');
          active = inRound.map((w) => w.saga);
          inHand = new Map(inRound.map((w) => [w.saga.saga_id, w.answer]));
        } else if (inRound.length === 1) {
          results.set(inRound[0]?.saga.saga_id ?? '', { error });
          break;
        } else {
          // One saga's failure must not hold up the others: each goes on as a batch of one.
          this.context.logger.warn({ err: error, sagas: inRound.length }, 'saga batch failed; driving its sagas one by one');
          await Promise.all(inRound.map((w) => this.advance([w.saga], results, new Map([[w.saga.saga_id, w.answer]]))));
          break;
        }
      }
    }
    await Promise.all(stragglers);
  }

  private next(state: PlacementSagaState): PlacementAction {
    return nextPlacementAction(state, { now: this.context.now(), retryDeadlineMs: this.retryDeadlineMs });
  }

  /** The saga's partner call for this action: its answer, or the error that stopped it (never rejects). */
  private async callPartner({ saga, action }: Planned): Promise<PartnerAnswer> {
    try {
      if (action.kind === 'void_authorization') return { kind: 'void', answer: await requestVoid(this.context, saga) };
      return { kind: 'authorization', answer: await requestAuthorization(this.context, saga) };
    } catch (error) {
      return { kind: 'error', error };
    }
  }

  /**
   * One transaction for the batch's round, with the partner answers in hand. Returns the sagas with
   * their new state.
   */
  private async commitRound(inRound: ReadonlyArray<Planned & { readonly answer: PartnerAnswer }>): Promise<SagaRecord[]> {
    const authorizations = new Map<string, AuthorizationAnswer>();
    const voids = new Map<string, VoidAnswer>();
    for (const { saga, answer } of inRound) {
      if (answer.kind === 'authorization') authorizations.set(saga.saga_id, answer.answer);
      else if (answer.kind === 'void') voids.set(saga.saga_id, answer.answer);
    }
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
      inRound.map(({ saga }) => saga),
      {
        steps: new Map(inRound.map(({ saga, action }) => [saga.saga_id, stepsOf(action)])),
        applier: (step) => appliers[step],
        follow: (state) => {
          const action = this.next(state);
          return LOCAL_FOLLOW_UPS.has(action.kind) ? (action.kind as PlacementStepIdName) : undefined;
        },
        lastly: takeReservedStock,
      },
    );
    return inRound.map(({ saga }) => ({ ...saga, ...(states.get(saga.saga_id) ?? {}) }));
  }
}

function sameSteps(a: PlacementSagaState['steps'], b: PlacementSagaState['steps']): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What a saga's partner call answered (an authorization, a void), or the error that stopped it. */
type PartnerAnswer =
  | { readonly kind: 'none' }
  | { readonly kind: 'authorization'; readonly answer: AuthorizationAnswer }
  | { readonly kind: 'void'; readonly answer: VoidAnswer }
  | { readonly kind: 'error'; readonly error: unknown };

function needsPartner(action: StepAction): boolean {
  return (
    (action.kind === 'run' && action.steps.includes(PlacementStepId.authorizePayment)) || action.kind === 'void_authorization'
  );
}

/** Whether an answer in hand is the one this action's partner call would give (else it is asked again). */
function answersFor(action: StepAction, answer: PartnerAnswer): boolean {
  if (answer.kind === 'error') return true;
  if (answer.kind === 'void') return action.kind === 'void_authorization';
  if (answer.kind === 'authorization') return action.kind === 'run' && action.steps.includes(PlacementStepId.authorizePayment);
  return !needsPartner(action);
}

/** A call this many times slower than its batch's median call is left behind (but at least MIN_PATIENCE_MS). */
const STRAGGLER_FACTOR = 2;
const MIN_PATIENCE_MS = 50;

/**
 * The partner calls' answers, once all have come — or, once half have, after STRAGGLER_FACTOR times
 * as long again: the calls still out then (a PSP holding one order's request until its timeout) are
 * left out of the answer, so the batch goes on without them.
 */
async function settleUnlessStraggling(calls: ReadonlyMap<string, Promise<PartnerAnswer>>): Promise<Map<string, PartnerAnswer>> {
  const settled = new Map<string, PartnerAnswer>();
  const started = Date.now();
  let halfAnswered = () => undefined as void;
  const half = new Promise<void>((resolve) => (halfAnswered = resolve));
  const all = Promise.all(
    [...calls].map(async ([id, call]) => {
      settled.set(id, await call);
      if (settled.size * 2 >= calls.size) halfAnswered();
    }),
  );
  if (calls.size <= 1) {
    await all;
    return settled;
  }
  await half;
  let timer: NodeJS.Timeout | undefined;
  const patience = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(MIN_PATIENCE_MS, STRAGGLER_FACTOR * (Date.now() - started)));
  });
  await Promise.race([all, patience]);
  clearTimeout(timer);
  return new Map(settled);
}

/** Each saga's step of the round (its partner call and the commit) in oms_saga_step_duration_seconds. */
function observeSteps(round: readonly Planned[], startedAt: number, outcome: string): void {
  const seconds = (performance.now() - startedAt) / 1000;
  for (const { action } of round) {
    metrics.sagaStepDuration.observe({ saga: 'placement', step: stepsOf(action).join('+'), outcome }, seconds);
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
