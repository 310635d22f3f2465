import type { Logger } from './logger.js';
import { inServiceScope } from './traceScope.js';

/** How driving one saga of a batch ended: where it stands now, or the error that stopped it. */
export type SagaDriveResult = { readonly outcome: string } | { readonly error: unknown };

/** Drives a batch of sagas of one type as far as they can go now; one saga's failure does not fail the others. */
export type SagaDriver = (sagaIds: readonly string[]) => Promise<ReadonlyMap<string, SagaDriveResult>>;

/** A saga leased for driving. */
export interface DueSaga {
  readonly saga_id: string;
  readonly saga_type: string;
}

/** A saga without progress for longer than the scheduler allows. */
export interface StuckSaga {
  readonly saga_id: string;
  readonly order_id: string;
  readonly saga_type: string;
  readonly status: string;
  readonly current_step: string;
  readonly updated_at: string;
  readonly stuck_for_ms: number;
}

/** The saga rows as the scheduler needs them; the order store implements it (store/sagaQueue.ts). */
export interface SagaQueue {
  /** Leases up to `limit` due sagas of these types for leaseMs, skipping those another worker holds. */
  leaseDue(types: readonly string[], leaseMs: number, limit: number): Promise<DueSaga[]>;
  /** Sagas of these types running or compensating without progress for stuckAfterMs, oldest first. */
  listStuck(stuckAfterMs: number, limit: number, types: readonly string[]): Promise<StuckSaga[]>;
  /** Makes the sagas due now. */
  makeDueNow(sagaIds: readonly string[]): Promise<void>;
}

export interface SagaSchedulerOptions {
  /** Where the sagas are (store/sagaQueue.ts); this scheduler is only the timing. */
  readonly queue: SagaQueue;
  readonly logger: Logger;
  /** The saga types this scheduler drives (`sagas.saga_type`), each with its driver. */
  readonly drivers: Readonly<Record<string, SagaDriver>>;
  readonly pollMs: number;
  readonly leaseMs: number;
  readonly stuckAfterMs: number;
  readonly batchSize?: number;
  /** The actor of the events its sagas write (default `saga-scheduler`). */
  readonly service?: string;
}

/**
 * The one scheduler for sagas of every type: drives sagas that are due without an event to wake them —
 * a partner call to retry, a wait that ran out, or a saga whose worker died (its lease ran out). Each
 * due saga is leased first (FOR UPDATE SKIP LOCKED), so several workers share the work without
 * driving one saga twice, and handed to its type's driver. Also the stuck-saga detector: a saga of its
 * types without progress for stuckAfterMs is logged as an alert and re-driven. Each worker runs one for
 * the saga types it drives (the saga worker placement, the changes worker the changes after it).
 */
export class SagaScheduler {
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private lastStuckCheck = 0;
  private inFlight = new Set<Promise<unknown>>();
  private readonly types: readonly string[];

  constructor(private readonly options: SagaSchedulerOptions) {
    this.types = Object.keys(options.drivers);
  }

  start(): void {
    this.running = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await Promise.allSettled([...this.inFlight]);
  }

  private schedule(ms: number): void {
    // Sagas driven without an event in hand: their events take their order's correlation (platform/traceScope).
    this.timer = setTimeout(() => void inServiceScope(this.options.service ?? 'saga-scheduler', () => this.tick()), ms);
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    const { logger, pollMs, stuckAfterMs } = this.options;
    try {
      if (Date.now() - this.lastStuckCheck >= Math.min(30_000, stuckAfterMs)) {
        this.lastStuckCheck = Date.now();
        await this.reportStuck();
      }
      const due = await this.leaseDue();
      if (due.length > 0) await this.track(this.drive(due));
      if (due.length === (this.options.batchSize ?? 20)) {
        this.schedule(0);
        return;
      }
    } catch (error) {
      logger.warn({ err: error }, 'saga scheduler tick failed');
    }
    if (this.running) this.schedule(pollMs);
  }

  private async track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise);
    try {
      return await promise;
    } finally {
      this.inFlight.delete(promise);
    }
  }

  /** The sagas due in one tick: each type's as one batch for its driver, the types side by side. */
  private async drive(due: ReadonlyArray<{ saga_id: string; saga_type: string }>): Promise<void> {
    const { logger, drivers } = this.options;
    const byType = Map.groupBy(due, (saga) => saga.saga_type);
    await Promise.all(
      [...byType].map(async ([type, sagas]) => {
        const sagaIds = sagas.map((s) => s.saga_id);
        const driver = drivers[type];
        if (driver === undefined) return;
        try {
          for (const [sagaId, result] of await driver(sagaIds)) {
            if ('error' in result)
              logger.warn({ err: result.error, saga_id: sagaId }, 'driving a due saga failed; it stays leased and is retried');
            else logger.debug({ saga_id: sagaId, outcome: result.outcome }, 'due saga driven');
          }
        } catch (error) {
          logger.warn({ err: error, sagas: sagaIds }, 'driving due sagas failed; they stay leased and are retried');
        }
      }),
    );
  }

  private leaseDue(): Promise<DueSaga[]> {
    return this.options.queue.leaseDue(this.types, this.options.leaseMs, this.options.batchSize ?? 20);
  }

  /** Logs each stuck saga as an alert and makes it due now, so it is re-driven from its recorded step. */
  private async reportStuck(): Promise<void> {
    const stuck = await this.options.queue.listStuck(this.options.stuckAfterMs, 100, this.types);
    for (const saga of stuck) {
      this.options.logger.warn(
        {
          alert: 'saga-stuck',
          saga_id: saga.saga_id,
          saga_type: saga.saga_type,
          order_id: saga.order_id,
          current_step: saga.current_step,
          stuck_for_ms: saga.stuck_for_ms,
        },
        'saga has made no progress; re-driving it',
      );
    }
    if (stuck.length > 0) await this.options.queue.makeDueNow(stuck.map((s) => s.saga_id));
  }
}
