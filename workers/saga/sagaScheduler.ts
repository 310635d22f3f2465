import type { Pool } from '../../platform/db.js';
import type { Logger } from '../../platform/logger.js';
import { listStuckSagas } from '../../platform/stuckSagas.js';
import type { PlacementSagaRunner } from './placementSagaRunner.js';

export interface SagaSchedulerOptions {
  readonly pool: Pool;
  readonly runner: PlacementSagaRunner;
  readonly logger: Logger;
  readonly pollMs: number;
  readonly leaseMs: number;
  readonly stuckAfterMs: number;
  readonly batchSize?: number;
}

/**
 * Drives sagas that are due without an event to wake them: a partner call to retry, or a saga whose
 * worker died (its lease ran out). Each due saga is leased first (FOR UPDATE SKIP LOCKED), so several
 * workers share the work without driving one saga twice. Also the stuck-saga detector: a saga without
 * progress for stuckAfterMs is logged as an alert and re-driven.
 */
export class SagaScheduler {
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private lastStuckCheck = 0;
  private inFlight = new Set<Promise<unknown>>();

  constructor(private readonly options: SagaSchedulerOptions) {}

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
    this.timer = setTimeout(() => void this.tick(), ms);
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

  /** The sagas due in one tick, as one batch (partner calls concurrent, one transaction per round). */
  private async drive(sagaIds: readonly string[]): Promise<void> {
    const { logger, runner } = this.options;
    try {
      for (const [sagaId, result] of await runner.driveBatch(sagaIds)) {
        if ('error' in result)
          logger.warn({ err: result.error, saga_id: sagaId }, 'driving a due saga failed; it stays leased and is retried');
        else logger.debug({ saga_id: sagaId, outcome: result.outcome }, 'due saga driven');
      }
    } catch (error) {
      logger.warn({ err: error, sagas: sagaIds }, 'driving due sagas failed; they stay leased and are retried');
    }
  }

  private async leaseDue(): Promise<string[]> {
    const result = await this.options.pool.query<{ saga_id: string }>(
      `UPDATE sagas SET next_attempt_at = now() + make_interval(secs => $1::double precision / 1000)
        WHERE saga_id IN (
          SELECT saga_id FROM sagas
           WHERE saga_type = 'placement' AND status IN ('running', 'compensating') AND next_attempt_at <= now()
           ORDER BY next_attempt_at LIMIT $2
           FOR UPDATE SKIP LOCKED)
        RETURNING saga_id`,
      [this.options.leaseMs, this.options.batchSize ?? 20],
    );
    return result.rows.map((r) => r.saga_id);
  }

  /** Logs each stuck saga as an alert and makes it due now, so it is re-driven from its recorded step. */
  private async reportStuck(): Promise<void> {
    const stuck = await listStuckSagas(this.options.pool, this.options.stuckAfterMs, 100);
    for (const saga of stuck) {
      this.options.logger.warn(
        {
          alert: 'saga-stuck',
          saga_id: saga.saga_id,
          order_id: saga.order_id,
          current_step: saga.current_step,
          stuck_for_ms: saga.stuck_for_ms,
        },
        'saga has made no progress; re-driving it',
      );
    }
    if (stuck.length > 0) {
      await this.options.pool.query('UPDATE sagas SET next_attempt_at = now() WHERE saga_id = ANY($1::uuid[])', [
        stuck.map((s) => s.saga_id),
      ]);
    }
  }
}
