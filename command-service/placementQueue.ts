import type { Pool } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { keyInFlight, keyReused } from '../platform/idempotency.js';
import { placeOrders, type PlaceOrdersOptions, type PlacementOutcome, type PlacementRequest } from './handlers/placeOrders.js';
import { metrics } from '../platform/metrics.js';
import { outsideTraceScope } from '../platform/traceScope.js';

const flushedOk = metrics.placementFlushDuration.labels('ok');
const flushFailed = metrics.placementFlushDuration.labels('error');

export interface PlacementQueueOptions extends PlaceOrdersOptions {
  /** Placements written by one flush at most. */
  readonly maxBatch: number;
  /** How long a flush may wait for more placements to join it (0: it starts at once when none runs). */
  readonly maxWaitMs: number;
  /** Flushes running at once (each one transaction on its own connection). */
  readonly concurrency: number;
  /** Called when a flush starts with at least `pressureQueueDepth` placements waiting (0: never). */
  readonly onPressure?: () => void;
  readonly pressureQueueDepth?: number;
}

/**
 * Whether the queue stays deep: at least `depth` placements waiting at 3 of the last 4 flush starts.
 * One burst of a few requests (a steady load's random clumps) is not pressure; a queue that refills
 * as fast as it is flushed is.
 */
export class DeepQueue {
  private recent = 0;

  atFlush(waiting: number, depth: number): boolean {
    this.recent = ((this.recent << 1) | (waiting >= depth ? 1 : 0)) & 0b1111;
    let deep = 0;
    for (let bits = this.recent; bits !== 0; bits &= bits - 1) deep++;
    return deep >= 3;
  }
}

interface Waiting {
  readonly request: PlacementRequest;
  readonly resolve: (outcome: PlacementOutcome) => void;
}

/** Connection-level failures: every order of the flush fails alike, so splitting it would not help. */
const CONNECTION_ERRORS = /^(08|57P0|53)/;

/**
 * Group commit for placements. Concurrent POSTs are queued; a flush takes everything queued (up to
 * maxBatch) and writes it in one transaction (handlers/placeOrders), while the next placements queue
 * behind it, so the batch grows with the load and a lone order still goes at once. An Idempotency-Key
 * already queued or being written here answers 409 (or 422 for another body) at once. A flush that fails
 * as a whole is split in halves and retried, so one order that breaks a statement fails alone.
 */
export class PlacementQueue {
  private queue: Waiting[] = [];
  private running = 0;
  private scheduled = false;
  /** Keys queued or being written by this process, with their request fingerprints. */
  private readonly keysHere = new Map<string, string>();

  private readonly deepQueue = new DeepQueue();

  constructor(
    private readonly pool: Pool,
    private readonly options: PlacementQueueOptions,
    private readonly logger: Logger,
  ) {}

  place(request: PlacementRequest): Promise<PlacementOutcome> {
    const key = request.key;
    if (key !== undefined) {
      const id = `${key.scope}\n${key.key}`;
      const fingerprint = this.keysHere.get(id);
      if (fingerprint !== undefined) {
        return Promise.resolve({ kind: 'error', error: fingerprint === key.fingerprint ? keyInFlight() : keyReused() });
      }
      this.keysHere.set(id, key.fingerprint);
    }
    return new Promise((resolve) => {
      this.queue.push({ request, resolve });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running >= this.options.concurrency || this.queue.length === 0) return;
    this.scheduled = true;
    // A flush serves many requests: it runs outside the one whose placement scheduled it (platform/traceScope).
    const go = () =>
      outsideTraceScope(() => {
        this.scheduled = false;
        this.startFlush();
      });
    // setImmediate lets the requests parsed in this turn of the event loop join the flush.
    if (this.queue.length < this.options.maxBatch && this.options.maxWaitMs > 0) setTimeout(go, this.options.maxWaitMs);
    else setImmediate(go);
  }

  private startFlush(): void {
    if (this.running >= this.options.concurrency || this.queue.length === 0) return;
    // Pressure is a queue that stays deep, flush after flush: not one burst of a few requests.
    const depth = this.options.pressureQueueDepth ?? 0;
    if (depth > 0 && this.deepQueue.atFlush(this.queue.length, depth)) this.options.onPressure?.();
    const batch = this.queue.splice(0, this.options.maxBatch);
    this.running++;
    void this.flush(batch).finally(() => {
      this.running--;
      this.schedule();
    });
    this.schedule();
  }

  private async flush(batch: readonly Waiting[]): Promise<void> {
    let outcomes: PlacementOutcome[];
    const started = performance.now();
    metrics.placementBatchSize.observe(batch.length);
    try {
      outcomes = await placeOrders(
        this.pool,
        batch.map((w) => w.request),
        this.options,
      );
      flushedOk.observe((performance.now() - started) / 1000);
    } catch (error) {
      flushFailed.observe((performance.now() - started) / 1000);
      const code = (error as { code?: unknown }).code;
      if (batch.length > 1 && !(typeof code === 'string' && CONNECTION_ERRORS.test(code))) {
        this.logger.warn({ err: error, orders: batch.length }, 'placement flush failed; retrying it in halves');
        const half = Math.ceil(batch.length / 2);
        await this.flush(batch.slice(0, half));
        await this.flush(batch.slice(half));
        return;
      }
      outcomes = batch.map(() => ({ kind: 'error', error }));
    }
    batch.forEach((waiting, index) => {
      const key = waiting.request.key;
      if (key !== undefined) this.keysHere.delete(`${key.scope}\n${key.key}`);
      waiting.resolve(outcomes[index] ?? { kind: 'error', error: new Error('no outcome') });
    });
  }
}
