import type { Config } from './config.js';
import { withTransaction, type Pool, type PoolClient } from './db.js';
import type { Logger } from './logger.js';

/**
 * Sweeps repair what a lost message leaves behind (an entry acknowledged without being handled, a
 * dead letter nobody re-drove, a partner's answer lost in a crash): each looks, now and then, for the
 * state such a loss leaves and repairs it through the same idempotent code the message would have run,
 * so a sweep and a late message never do the work twice. Each pass is bounded: it examines at most
 * `scanLimit` rows after a cursor (ids are UUIDv7, so the walk goes through time), repairs at most
 * `repairLimit`, and its finding statement runs under a short statement_timeout. The cursor walks
 * from `lookbackMs` ago to now and then starts over, so a long window is covered in several passes.
 */
export interface SweepSettings {
  /** Mean time between passes; each wait is drawn from [2/3, 4/3] of it, so replicas do not sweep in step. */
  readonly everyMs: number;
  /** What changed more recently than this is left to the messages still on their way. */
  readonly graceMs: number;
  /** How far back the sweep looks (by the id's creation time). */
  readonly lookbackMs: number;
  readonly scanLimit: number;
  readonly repairLimit: number;
  readonly statementTimeoutMs: number;
}

export function sweepSettings(config: Config): SweepSettings {
  return {
    everyMs: config.sweepIntervalMs,
    graceMs: config.sweepGraceMs,
    lookbackMs: config.sweepLookbackMs,
    scanLimit: config.sweepScanLimit,
    repairLimit: config.sweepRepairLimit,
    statementTimeoutMs: config.sweepStatementTimeoutMs,
  };
}

/** One pass's bounds. */
export interface SweepWindow {
  /** Examine ids after this one (exclusive): where the last pass stopped, or the lookback's start. */
  readonly after: string;
  readonly scanLimit: number;
  readonly repairLimit: number;
  readonly graceMs: number;
  readonly statementTimeoutMs: number;
}

export interface SweepPass {
  /** The id the next pass continues after; undefined when this pass reached the end of the window. */
  readonly upTo: string | undefined;
  /** How many things this pass repaired. */
  readonly repaired: number;
}

/** The smallest UUID whose UUIDv7 time is `ms`: ids compare by time first, so it bounds a walk through time. */
export function uuidv7Floor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0').slice(-12);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}

/** Runs the finding statements of a pass in one transaction under a short statement_timeout. */
export function withStatementTimeout<T>(pool: Pool, ms: number, fn: (tx: PoolClient) => Promise<T>): Promise<T> {
  return withTransaction(pool, async (tx) => {
    await tx.query("SELECT set_config('statement_timeout', $1, true)", [String(ms)]);
    return fn(tx);
  });
}

/** What an orders walk found: where it stopped, how many it examined, and the orders to repair. */
export interface OrdersExamined {
  readonly upTo: string | null;
  readonly examined: number;
  readonly candidates: string[];
}

/**
 * Examines up to scanLimit orders after the window's cursor (by id: primary key order, partition
 * pruned by the id's time) and answers, among them, those matching `candidate` — a condition on
 * `e` (the orders row), `$3` being the grace period in ms — at most repairLimit, oldest first.
 */
export async function examineOrders(tx: PoolClient, window: SweepWindow, candidate: string): Promise<OrdersExamined> {
  const result = await tx.query<OrdersExamined>(
    `WITH examined AS (
       SELECT * FROM orders
        WHERE order_id > $1::uuid AND created_at >= uuid7_time($1::uuid)
        ORDER BY order_id LIMIT $2)
     SELECT (SELECT order_id FROM examined ORDER BY order_id DESC LIMIT 1)::text AS "upTo",
            (SELECT count(*) FROM examined)::int AS examined,
            ARRAY(SELECT e.order_id FROM examined e
                   WHERE ${candidate}
                   ORDER BY e.order_id LIMIT $4)::text[] AS candidates`,
    [window.after, window.scanLimit, window.graceMs, window.repairLimit],
  );
  return result.rows[0] as OrdersExamined;
}

/**
 * Where the next pass continues: after the last candidate when the repairs were cut short (the rest
 * of what was examined is looked at again), at the window's end when fewer than scanLimit were
 * examined, else after the last one examined.
 */
export function nextCursor(window: SweepWindow, found: { upTo: string | null; examined: number; candidates: readonly string[] }) {
  if (found.candidates.length >= window.repairLimit) return found.candidates[found.candidates.length - 1];
  if (found.examined < window.scanLimit || found.upTo === null) return undefined;
  return found.upTo;
}

/** A sweep run by the worker that owns the step it repairs. */
export class Sweep {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private current: Promise<unknown> = Promise.resolve();
  private cursor: string | undefined;

  constructor(
    readonly name: string,
    private readonly settings: SweepSettings,
    private readonly logger: Logger,
    private readonly pass: (window: SweepWindow) => Promise<SweepPass>,
    private readonly random: () => number = Math.random,
  ) {}

  start(): void {
    this.running = true;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.current;
  }

  /** One pass now (tests; the schedule runs the same). Resolves with what it did. */
  runOnce(): Promise<SweepPass> {
    const run = this.current.then(() => this.runPass());
    this.current = run.catch(() => undefined);
    return run;
  }

  private schedule(): void {
    if (!this.running) return;
    const delay = Math.round(this.settings.everyMs * (2 / 3 + (2 / 3) * this.random()));
    this.timer = setTimeout(() => {
      void this.runOnce()
        .catch((error: unknown) => this.logger.warn({ err: error, sweep: this.name }, 'sweep pass failed; trying again later'))
        .finally(() => this.schedule());
    }, delay);
  }

  private async runPass(): Promise<SweepPass> {
    const floor = uuidv7Floor(Date.now() - this.settings.lookbackMs);
    const after = this.cursor !== undefined && this.cursor > floor ? this.cursor : floor;
    const result = await this.pass({
      after,
      scanLimit: this.settings.scanLimit,
      repairLimit: this.settings.repairLimit,
      graceMs: this.settings.graceMs,
      statementTimeoutMs: this.settings.statementTimeoutMs,
    });
    this.cursor = result.upTo;
    if (result.repaired > 0) this.logger.info({ sweep: this.name, repaired: result.repaired }, 'sweep pass repaired');
    else this.logger.debug({ sweep: this.name }, 'sweep pass found nothing to repair');
    return result;
  }
}
