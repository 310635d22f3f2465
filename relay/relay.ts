import pg from 'pg';
import { withTransactionOpenedBy, type Pool, type PoolClient } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { metrics } from '../platform/metrics.js';
import type { PressureGauge } from '../platform/pressure.js';
import { Wakeup } from '../platform/wakeup.js';
import type { KafkaSink } from './kafkaSink.js';
import {
  comparePositions,
  inOrderSequence,
  loadCheckpoint,
  OUTBOX_START,
  PublishedMarks,
  positionOf,
  readOutbox,
  readOutboxAhead,
  saveAckedFloor,
  saveCheckpoints,
  setRelayListening,
  startOfTransaction,
  type OutboxPosition,
  type OutboxRow,
  type ReadSnapshot,
} from './outbox.js';
import type { RedisSink } from './redisSink.js';

export interface RelayOptions {
  readonly pool: Pool;
  /** For the LISTEN connection: PostgreSQL itself, never a pooler in transaction mode (config.listenDatabaseUrl). */
  readonly databaseUrl: string;
  readonly schema: string;
  readonly logger: Logger;
  readonly kafka?: KafkaSink;
  readonly redis?: RedisSink;
  readonly batchSize: number;
  /** Longest sleep of an idle relay (a NOTIFY wakes it sooner; this covers a lost LISTEN connection). */
  readonly pollMs: number;
  readonly ackScanMs: number;
  /**
   * Reads are at least this far apart while there is work, so a stream of small commits is published
   * in batches rather than one query and one Kafka request per commit.
   */
  readonly minBatchIntervalMs?: number;
  /** Checkpoints are written at most this often while busy (always before sleeping and on stop). */
  readonly checkpointMs?: number;
  /** Delivered rows older than this are deleted from the outbox (never without a Redis sink's acked floor). */
  readonly outboxRetentionMs?: number;
  /** The API's back pressure: while it is up, reads are further apart (platform/pressure). */
  readonly pressure?: PressureGauge;
}

interface Sink {
  readonly name: string;
  /** Publishes rows in order; resolves once they are durable in the sink. */
  readonly publish: (rows: readonly OutboxRow[]) => Promise<void>;
  /** Runs before each batch (the Redis sink: rebuild and rewind if Redis lost its streams). */
  readonly beforeBatch?: () => Promise<void>;
  /** The last row published. */
  cursor: OutboxPosition;
  /** The position last written to relay_checkpoints. */
  saved: OutboxPosition;
  published: number;
  /**
   * Rows handed over ahead of the horizon, each batch with the end of the rows read when it was: the
   * sink publishes the rows read up to that end first, then the batch (so one order's events keep
   * their order). Its cursor and checkpoint do not move for them.
   */
  early: Array<{ readonly rows: readonly OutboxRow[]; readonly after: OutboxPosition }>;
  /** Ids this sink published ahead of the horizon and has not met yet among the rows read (it skips them there). */
  readonly earlyDone: Set<string>;
  /** Wakes this sink's loop: rows arrived, or stop. */
  readonly wakeup: Wakeup;
}

const MAX_BACKOFF_MS = 5_000;
/** An idle relay keeps polling at the busy pace this long before it asks writers for a NOTIFY. */
const ARM_AFTER_MS = 50;
/** While a transaction that may have missed the NOTIFY request is still running: polls this often, doubling. */
const SETTLE_MIN_MS = 5;
const SETTLE_MAX_MS = 100;
/** Outbox pruning runs when the acked floor moved, or this often. */
const PRUNE_EVERY_MS = 30_000;
/** Most outbox rows one prune deletes. */
const PRUNE_BATCH = 5_000;
/** Rows kept for a sink that is behind, in batches; a sink further behind reads the outbox itself. */
const CACHED_BATCHES = 20;
/** A sink's rows ahead of the horizon beyond this many batches are dropped: it publishes them once they are read in order. */
const EARLY_BATCHES = 20;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The rows read from the outbox, contiguous after `start`: every outbox row in (start, end]. Exact:
 * a read only returns rows of ended transactions, so no row can appear later below its end.
 */
class ReadRows {
  start: OutboxPosition = OUTBOX_START;
  rows: OutboxRow[] = [];

  get end(): OutboxPosition {
    const last = this.rows[this.rows.length - 1];
    return last === undefined ? this.start : positionOf(last);
  }

  /** Starts again after `position` (empty). */
  reset(position: OutboxPosition): void {
    this.start = position;
    this.rows = [];
  }

  append(rows: readonly OutboxRow[]): void {
    for (const row of rows) this.rows.push(row);
  }

  /** Up to `limit` rows after `cursor`, when the cursor is in [start, end]; undefined when it is not. */
  after(cursor: OutboxPosition, limit: number): OutboxRow[] | undefined {
    if (comparePositions(cursor, this.start) < 0 || comparePositions(cursor, this.end) > 0) return undefined;
    const first = this.firstAfter(cursor);
    return this.rows.slice(first, first + limit);
  }

  /** How many rows lie after `cursor` (0 when it is not inside). */
  countAfter(cursor: OutboxPosition): number {
    if (comparePositions(cursor, this.start) < 0 || comparePositions(cursor, this.end) > 0) return 0;
    return this.rows.length - this.firstAfter(cursor);
  }

  /** The index of the first row after `position` (rows are in position order). */
  private firstAfter(position: OutboxPosition): number {
    let low = 0;
    let high = this.rows.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (comparePositions(positionOf(this.rows[mid] as OutboxRow), position) <= 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Forgets rows every sink passed, and the oldest beyond `max` rows. */
  trim(passedByAll: OutboxPosition, max: number): void {
    const drop = Math.max(this.firstAfter(passedByAll), this.rows.length - max);
    if (drop <= 0) return;
    this.start = positionOf(this.rows[drop - 1] as OutboxRow);
    this.rows = this.rows.slice(drop);
  }
}

/**
 * The outbox relay. One reader reads the outbox (from where the rows it has end) and keeps what it
 * read for the sinks; each sink (Kafka, Redis Streams) publishes from those rows on its own loop,
 * cursor and checkpoint, so a slow or failing sink neither delays nor stops the other. A sink more
 * than CACHED_BATCHES behind (after a failure, or a Redis rewind) reads the outbox itself until it is
 * back among the rows read. The checkpoints of all sinks are written in one statement, at most every
 * checkpointMs while busy and always before the reader sleeps and on stop. Delivery is at least once
 * per sink; consumers dedupe by event id. The Redis sink also rebuilds streams and re-publishes from
 * the oldest unacknowledged position when Redis loses its data.
 *
 * Waking without a NOTIFY per commit (a NOTIFY serializes committing writers on a database-wide lock):
 * while rows keep coming the reader simply polls every minBatchIntervalMs. After ARM_AFTER_MS without
 * any it sets `relay_wakeup.listening`, which makes the outbox trigger NOTIFY. A writer that checked
 * the flag before it was set got its xid before; so the reader sleeps only once a read's snapshot
 * shows every transaction below the horizon (the xmax of its first read after arming or waking) has
 * ended, and every row they wrote was read. Until then it polls briefly.
 */
export class Relay {
  private running = false;
  private listener: pg.Client | undefined;
  private readonly sinks: Sink[] = [];
  private readonly read = new ReadRows();
  /** Wakes the reader: a NOTIFY, a sink that wants rows, Redis lost, stop. */
  private readonly wakeup = new Wakeup();
  /** Paces the acknowledgement scanner; woken on stop. */
  private readonly scanPause = new Wakeup();
  private readonly tasks: Array<Promise<void>> = [];
  private redisSink: Sink | undefined;
  private redisEpoch: string | null = null;
  /** Set when Redis may have lost its streams: checked (and rebuilt) before the Redis sink's next batch. */
  private redisSuspect = true;
  /** Whether writers are asked to NOTIFY (relay_wakeup.listening as this relay last set it). */
  private listening: boolean | undefined;
  /**
   * The snapshot of the last read after which every visible row had been handed to the sinks (read in
   * order, or handed ahead of the horizon): the next read hands ahead what committed since. Undefined
   * when a read was cut by the limit (the next one looks at every row ahead of the horizon).
   */
  private aheadSince: ReadSnapshot | undefined;
  /** Rows handed ahead of the horizon that the ordered read has not reached yet (id → position). */
  private readonly handedAhead = new Map<string, OutboxPosition>();
  /** Where every sink had published to, and when (the outbox pruner's clock). */
  private readonly publishedMarks = new PublishedMarks();
  /** Outbox rows below this are deleted (by this relay since it started). */
  private prunedThrough: OutboxPosition = OUTBOX_START;

  constructor(private readonly options: RelayOptions) {}

  async start(): Promise<void> {
    this.running = true;
    await this.listen();
    const { kafka, redis } = this.options;
    if (kafka) await this.addSink(kafka.name, (rows) => kafka.publish(rows));
    if (redis) {
      this.redisSink = await this.addSink(
        redis.name,
        async (rows) => {
          const epoch = await redis.publish(rows);
          if (epoch === null || epoch !== this.redisEpoch) this.redisSuspect = true;
        },
        async () => {
          if (this.redisSuspect) await this.checkRedis(redis);
        },
      );
      this.tasks.push(this.runAckScanner(this.redisSink, redis));
    }
    // The rows read start where the most advanced sink is; a sink behind it reads for itself first.
    this.read.reset(this.sinks.map((s) => s.cursor).reduce((a, b) => (comparePositions(a, b) >= 0 ? a : b), OUTBOX_START));
    for (const sink of this.sinks) this.tasks.push(this.runSink(sink));
    this.tasks.push(this.runReader());
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeup.wake();
    this.scanPause.wake();
    for (const sink of this.sinks) sink.wakeup.wake();
    await Promise.allSettled(this.tasks);
    await this.saveCheckpoints().catch((error: unknown) => this.options.logger.warn({ err: error }, 'last checkpoint not saved'));
    await this.listener?.end().catch(() => undefined);
  }

  /** How many rows each sink published since start (for logs and tests). */
  stats(): Record<string, number> {
    return Object.fromEntries(this.sinks.map((sink) => [sink.name, sink.published]));
  }

  private async addSink(name: string, publish: Sink['publish'], beforeBatch?: Sink['beforeBatch']): Promise<Sink> {
    const checkpoint = await loadCheckpoint(this.options.pool, name);
    const sink: Sink = {
      name,
      publish,
      ...(beforeBatch === undefined ? {} : { beforeBatch }),
      cursor: checkpoint.position,
      saved: checkpoint.position,
      published: 0,
      early: [],
      earlyDone: new Set(),
      wakeup: new Wakeup(),
    };
    this.sinks.push(sink);
    this.options.logger.info({ sink: name, cursor: checkpoint.position }, 'relay sink starting');
    return sink;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.databaseUrl, application_name: 'oms-relay-listen' });
    client.on('notification', () => this.wakeup.wake());
    client.on('error', (error) => {
      this.options.logger.warn({ err: error }, 'LISTEN connection lost; polling until it is back');
      this.listener = undefined;
      setTimeout(() => this.running && this.listen().catch(() => undefined), 1_000);
    });
    await client.connect();
    await client.query(`LISTEN "outbox_${this.options.schema}"`);
    this.listener = client;
  }

  /** Whether the reader should read: the most advanced sink has less than a batch left to publish. */
  private wantsRows(): boolean {
    const lead = this.sinks.map((s) => s.cursor).reduce((a, b) => (comparePositions(a, b) >= 0 ? a : b), OUTBOX_START);
    if (comparePositions(lead, this.read.end) > 0) return true;
    return this.read.countAfter(lead) < this.options.batchSize;
  }

  private async runReader(): Promise<void> {
    const { pool, batchSize, pollMs, logger } = this.options;
    const minInterval = this.options.minBatchIntervalMs ?? 10;
    const checkpointMs = this.options.checkpointMs ?? 200;
    let lastRead = -Infinity;
    let lastCheckpoint = performance.now();
    let quietSince: number | undefined;
    let horizon: bigint | undefined;
    let settleMs = SETTLE_MIN_MS;
    let failures = 0;
    while (this.running) {
      try {
        if (performance.now() - lastCheckpoint >= checkpointMs) {
          await this.saveCheckpoints();
          lastCheckpoint = performance.now();
        }
        if (!this.wantsRows()) {
          await this.wakeup.wait(pollMs);
          continue;
        }
        const interval = (await this.options.pressure?.readIntervalMs(minInterval)) ?? minInterval;
        const sinceLast = performance.now() - lastRead;
        if (sinceLast < interval) await sleep(interval - sinceLast);
        if (!this.running) break;
        const now = performance.now();
        lastRead = now;
        const from = this.read.end;
        const read = await readOutboxAhead(pool, from, batchSize, this.aheadSince);
        failures = 0;
        const handed = this.handOver(read.rows, read.ahead, read.rows.length < batchSize && read.ahead.length < batchSize);
        this.aheadSince = handed.complete ? read.snapshot : undefined;

        if (read.rows.length > 0 || handed.ahead > 0) {
          quietSince = undefined;
          horizon = undefined;
          if (this.listening !== false) await this.setListening(false);
          continue;
        }

        // Nothing new: checkpoints first, then decide how long to wait.
        await this.saveCheckpoints();
        lastCheckpoint = performance.now();
        if (this.listening !== true) {
          quietSince ??= now;
          if (now - quietSince < ARM_AFTER_MS) continue;
          await this.setListening(true);
          horizon = undefined;
          continue; // read again, with a snapshot taken after writers can see the flag
        }
        horizon ??= read.xmax;
        if (read.xmin < horizon) {
          // A transaction that may have checked the flag before it was set is still running.
          await this.wakeup.wait(settleMs);
          settleMs = Math.min(settleMs * 2, SETTLE_MAX_MS);
          continue;
        }
        settleMs = SETTLE_MIN_MS;
        await this.wakeup.wait(pollMs);
        // Woken by a NOTIFY (or the timer): the rows that woke us may be held back by an older
        // transaction, so the next empty read sets a new horizon and waits for it.
        horizon = undefined;
      } catch (error) {
        failures++;
        const backoff = Math.min(100 * 2 ** failures, MAX_BACKOFF_MS);
        logger.warn({ err: error, retry_in_ms: backoff }, 'relay read failed; retrying');
        this.listening = undefined;
        await this.wakeup.wait(backoff);
      }
    }
  }

  /**
   * Hands the rows read in order (appended to the rows read) and those ahead of the horizon (each
   * sink's early batches) to the sinks. Rows ahead are handed only when neither part was cut by the
   * limit: then every visible row has been handed, and an order's earlier events (committed before
   * its later ones, which waited for the order's lock) were handed before or with its later ones.
   */
  private handOver(
    rows: readonly OutboxRow[],
    ahead: readonly OutboxRow[],
    complete: boolean,
  ): { ahead: number; complete: boolean } {
    if (rows.length > 0) {
      // Contiguous: only the reader moves the end of the rows read, and it read from there.
      this.read.append(rows);
      const passed = this.sinks.map((s) => s.cursor).reduce((a, b) => (comparePositions(a, b) <= 0 ? a : b));
      this.read.trim(passed, CACHED_BATCHES * this.options.batchSize);
      const end = this.read.end;
      for (const [id, position] of this.handedAhead) if (comparePositions(position, end) <= 0) this.handedAhead.delete(id);
    }
    const fresh = complete ? inOrderSequence(ahead.filter((row) => !this.handedAhead.has(row.id))) : [];
    if (fresh.length > 0) {
      for (const row of fresh) this.handedAhead.set(row.id, positionOf(row));
      const after = this.read.end;
      for (const sink of this.sinks) {
        sink.early.push({ rows: fresh, after });
        if (sink.early.reduce((n, batch) => n + batch.rows.length, 0) > EARLY_BATCHES * this.options.batchSize) sink.early = [];
      }
    }
    if (rows.length > 0 || fresh.length > 0) for (const sink of this.sinks) sink.wakeup.wake();
    return { ahead: fresh.length, complete };
  }

  /** Publishes the rows read after the sink's cursor, batch by batch; a failure backs off this sink only. */
  private async runSink(sink: Sink): Promise<void> {
    const { pool, batchSize, pollMs, logger } = this.options;
    let failures = 0;
    while (this.running) {
      try {
        if (sink.beforeBatch) await sink.beforeBatch();
        let rows = this.read.after(sink.cursor, batchSize);
        const behind = rows === undefined && comparePositions(sink.cursor, this.read.start) < 0;
        if (behind) {
          // Behind the rows read: read for itself, up to where they begin.
          const own = await readOutbox(pool, sink.cursor, batchSize);
          const start = this.read.start;
          rows = own.rows.filter((row) => comparePositions(positionOf(row), start) <= 0);
          if (rows.length === 0 && own.rows.length > 0) rows = this.read.after(start, batchSize) ?? [];
        }
        const early = sink.early[0];
        if (early !== undefined && !behind) {
          // The rows read before this early batch was handed over go first; the rest wait behind it.
          rows = (rows ?? []).filter((row) => comparePositions(positionOf(row), early.after) <= 0);
          if (rows.length === 0) {
            await sink.publish(early.rows);
            observePublished(sink.name, early.rows);
            sink.early.shift();
            for (const row of early.rows) sink.earlyDone.add(row.id);
            sink.published += early.rows.length;
            failures = 0;
            continue;
          }
        }
        if (rows === undefined || rows.length === 0) {
          // Caught up: the reader wakes this loop when it has read more.
          await sink.wakeup.wait(pollMs);
          continue;
        }
        const fresh = rows.filter((row) => !sink.earlyDone.has(row.id));
        if (fresh.length > 0) {
          await sink.publish(fresh);
          observePublished(sink.name, fresh);
        }
        for (const row of rows) sink.earlyDone.delete(row.id);
        sink.cursor = positionOf(rows[rows.length - 1] as OutboxRow);
        sink.published += fresh.length;
        failures = 0;
        if (this.read.countAfter(sink.cursor) < batchSize) this.wakeup.wake();
      } catch (error) {
        failures++;
        const backoff = Math.min(100 * 2 ** failures, MAX_BACKOFF_MS);
        logger.warn({ err: error, sink: sink.name, retry_in_ms: backoff }, 'relay sink failed; retrying the batch');
        // New rows wake this loop too: the backoff holds anyway (stop ends it).
        const until = performance.now() + backoff;
        while (this.running && performance.now() < until) await sink.wakeup.wait(until - performance.now());
      }
    }
  }

  private async setListening(listening: boolean): Promise<void> {
    await this.bookkeeping((tx) => setRelayListening(tx, listening));
    this.listening = listening;
  }

  /**
   * The relay's own writes are bookkeeping that a database crash may lose safely: a checkpoint that
   * falls back re-publishes (consumers dedupe), a lost wake-up flag is covered by the idle poll. So
   * they commit without waiting for the WAL flush, which keeps an fsync out of the time between a
   * commit and its publication (BEGIN and the setting travel in one round trip). A Redis rewind, which
   * must not fall back, asks for a flushed commit.
   */
  private bookkeeping(write: (tx: PoolClient) => Promise<void>, flushed = false): Promise<void> {
    return withTransactionOpenedBy(this.options.pool, `SET LOCAL synchronous_commit = ${flushed ? 'on' : 'off'}`, write);
  }

  /** Every sink whose cursor moved since its last checkpoint, in one statement. */
  private async saveCheckpoints(durably = false): Promise<void> {
    const moved = this.sinks.filter((sink) => comparePositions(sink.cursor, sink.saved) !== 0);
    if (moved.length === 0) return;
    const positions = moved.map((sink) => ({ sink: sink.name, position: sink.cursor }));
    await this.bookkeeping((tx) => saveCheckpoints(tx, positions), durably);
    for (const [index, sink] of moved.entries()) sink.saved = (positions[index] as { position: OutboxPosition }).position;
  }

  /** If Redis lost the streams, rebuilds them and rewinds the Redis sink to the acked floor. */
  private async checkRedis(redis: RedisSink): Promise<void> {
    const sink = this.redisSink;
    if (sink === undefined) return;
    const epoch = await redis.epoch();
    this.redisSuspect = false;
    if (epoch !== null && epoch === this.redisEpoch) return;
    if (epoch !== null && this.redisEpoch === null) {
      // First look after start: the streams are there; keep the checkpoint.
      this.redisEpoch = epoch;
      return;
    }
    const { ackedFloor } = await loadCheckpoint(this.options.pool, sink.name);
    // The whole transaction of the floor again: the floor itself is unacknowledged.
    const rewindTo = ackedFloor === null ? OUTBOX_START : startOfTransaction(ackedFloor);
    this.redisEpoch = await redis.rebuild();
    const firstStart = ackedFloor === null && comparePositions(sink.cursor, OUTBOX_START) === 0;
    const message =
      epoch !== null
        ? 'redis streams rebuilt by another relay; re-publishing'
        : firstStart
          ? 'redis streams and consumer groups created'
          : 'redis lost its streams; rebuilt them, re-publishing from the oldest unacknowledged event';
    this.options.logger[firstStart ? 'info' : 'warn']({ sink: sink.name, from: rewindTo, was_at: sink.cursor }, message);
    sink.cursor = rewindTo;
    // What it published ahead of the horizon went into the lost streams too: all of it again, in order.
    sink.early = [];
    sink.earlyDone.clear();
    // Stored at once, durably: a relay restarted before re-publishing must not resume from the old position.
    await this.saveCheckpoints(true);
  }

  /** Marks where every sink has published to now (see PublishedMarks). */
  private notePublished(): void {
    if (this.options.outboxRetentionMs === undefined) return; // nothing is pruned: no marks to keep
    let through: OutboxPosition | undefined;
    for (const sink of this.sinks) if (through === undefined || comparePositions(sink.cursor, through) < 0) through = sink.cursor;
    if (through !== undefined) this.publishedMarks.note(Date.now(), through);
  }

  /**
   * Deletes outbox rows that every sink has published and every consumer group has acknowledged
   * (below the Redis floor just measured), once older than the retention, in bounded batches. The
   * rows older than the retention are those below the newest publication mark that old (see
   * PublishedMarks), and the scan starts where the last one stopped: it never walks the rows it keeps
   * or the index entries of rows already deleted (dead until a vacuum). A relay just started prunes
   * what it published once the retention has passed since its start.
   */
  private async pruneOutbox(redisFloor: OutboxPosition): Promise<void> {
    const retentionMs = this.options.outboxRetentionMs;
    if (retentionMs === undefined) return;
    const now = Date.now();
    let below = this.publishedMarks.through(now - retentionMs);
    if (below === undefined) return;
    if (comparePositions(redisFloor, below) < 0) below = redisFloor;
    for (const sink of this.sinks) if (comparePositions(sink.cursor, below) < 0) below = sink.cursor;
    if (comparePositions(below, this.prunedThrough) <= 0) return;
    const deleted = await this.options.pool.query<{ tx_id: string; id: string; n: number }>(
      `WITH gone AS (
         DELETE FROM outbox WHERE id IN (
           SELECT id FROM outbox
            WHERE (tx_id, id) >= ($1::xid8, $2::uuid) AND (tx_id, id) < ($3::xid8, $4::uuid)
            ORDER BY tx_id, id LIMIT ${PRUNE_BATCH})
         RETURNING tx_id, id)
       SELECT tx_id::text AS tx_id, id, count(*) OVER ()::int AS n FROM gone ORDER BY tx_id DESC, id DESC LIMIT 1`,
      [this.prunedThrough.txId, this.prunedThrough.id, below.txId, below.id],
    );
    const last = deleted.rows[0];
    // A full batch stops at its last row (the next prune goes on from there); a short one reached `below`.
    this.prunedThrough = last !== undefined && last.n >= PRUNE_BATCH ? { txId: last.tx_id, id: last.id } : below;
    if (last !== undefined) this.options.logger.debug({ deleted: last.n }, 'delivered outbox rows deleted');
  }

  /**
   * Measures acknowledgements, trims streams, and records the acked floor while Redis is intact. When
   * the last scan found everything acknowledged and nothing was published since, there is nothing to
   * measure: only the epoch is checked (an idle relay costs one GET per scan).
   */
  private async runAckScanner(sink: Sink, redis: RedisSink): Promise<void> {
    const { pool, ackScanMs, logger } = this.options;
    let settledAt: OutboxPosition | undefined;
    let savedFloor: OutboxPosition | undefined;
    let prunedFloor: OutboxPosition | undefined;
    let lastPrune = 0;
    while (this.running) {
      await this.scanPause.wait(ackScanMs);
      if (!this.running) break;
      this.notePublished();
      try {
        const epochBefore = await redis.epoch();
        if (epochBefore === null || epochBefore !== this.redisEpoch) {
          this.redisSuspect = true;
          sink.wakeup.wake();
          settledAt = undefined;
          continue;
        }
        const publishedThrough = sink.cursor;
        if (settledAt !== undefined && comparePositions(settledAt, publishedThrough) === 0) {
          // Rows still age past the retention while nothing moves.
          if (savedFloor !== undefined && performance.now() - lastPrune >= PRUNE_EVERY_MS) {
            await this.pruneOutbox(savedFloor);
            lastPrune = performance.now();
          }
          continue;
        }
        const scan = await redis.scanAcks();
        // Only a scan of one unbroken epoch proves anything: a flush during the scan would look acknowledged.
        if ((await redis.epoch()) !== epochBefore) continue;
        const floor = scan.oldestUnacked ?? publishedThrough;
        settledAt = scan.oldestUnacked === null ? publishedThrough : undefined;
        if (savedFloor === undefined || comparePositions(floor, savedFloor) !== 0) {
          await saveAckedFloor(pool, sink.name, floor);
          savedFloor = floor;
        }
        const now = performance.now();
        if (prunedFloor === undefined || comparePositions(floor, prunedFloor) !== 0 || now - lastPrune >= PRUNE_EVERY_MS) {
          await this.pruneOutbox(floor);
          prunedFloor = floor;
          lastPrune = now;
        }
        if (scan.trimmedEntries > 0) logger.debug({ trimmed: scan.trimmedEntries }, 'acknowledged stream entries trimmed');
      } catch (error) {
        logger.warn({ err: error }, 'acknowledgement scan failed');
      }
    }
  }
}

/**
 * Publication rate and lag per sink: the lag of a row is the time since it was written, which its
 * UUIDv7 id carries (its first 48 bits are the milliseconds), so no column or clock read per row.
 */
function observePublished(sink: string, rows: readonly OutboxRow[]): void {
  metrics.relayPublished.inc({ sink }, rows.length);
  const now = Date.now();
  const lag = metrics.relayLag.labels(sink);
  for (const row of rows) {
    if (row.id.charCodeAt(14) !== 55 /* 7: a UUIDv7 */) continue;
    const writtenAt = parseInt(row.id.slice(0, 8), 16) * 65_536 + parseInt(row.id.slice(9, 13), 16);
    lag.observe(Math.max(0, now - writtenAt) / 1000);
  }
}
