import pg from 'pg';
import type { Pool } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { Wakeup } from '../platform/wakeup.js';
import type { KafkaSink } from './kafkaSink.js';
import {
  comparePositions,
  loadCheckpoint,
  OUTBOX_START,
  positionOf,
  readOutbox,
  saveAckedFloor,
  saveCheckpoint,
  type OutboxPosition,
  type OutboxRow,
} from './outbox.js';
import type { RedisSink } from './redisSink.js';

export interface RelayOptions {
  readonly pool: Pool;
  /** For the LISTEN connection. */
  readonly databaseUrl: string;
  readonly schema: string;
  readonly logger: Logger;
  readonly kafka?: KafkaSink;
  readonly redis?: RedisSink;
  readonly batchSize: number;
  readonly pollMs: number;
  readonly ackScanMs: number;
  /**
   * Reads of one sink are at least this far apart, so a stream of small commits is published in
   * batches rather than one query, one Kafka request and one checkpoint write per commit.
   */
  readonly minBatchIntervalMs?: number;
  /** Delivered rows older than this are deleted from the outbox (never without a Redis sink's acked floor). */
  readonly outboxRetentionMs?: number;
}

interface SinkLoop {
  readonly name: string;
  readonly wakeup: Wakeup;
  cursor: OutboxPosition;
  /** Re-publish the row at the cursor too (after Redis lost data, the floor itself is unacknowledged). */
  inclusive: boolean;
  published: number;
}

const MAX_BACKOFF_MS = 5_000;

/**
 * The outbox relay: each sink (Kafka, Redis Streams) follows the outbox on its own cursor and
 * checkpoint, woken by NOTIFY with a timer as fallback, in batches. Delivery is at least once per
 * sink; consumers dedupe by event id. The Redis sink also rebuilds streams and re-publishes from the
 * oldest unacknowledged position when Redis loses its data.
 */
export class Relay {
  private running = false;
  private listener: pg.Client | undefined;
  private readonly loops: SinkLoop[] = [];
  /** Paces the acknowledgement scanner; woken on stop. */
  private readonly scanPause = new Wakeup();
  private readonly tasks: Array<Promise<void>> = [];
  private redisEpoch: string | null = null;

  constructor(private readonly options: RelayOptions) {}

  async start(): Promise<void> {
    this.running = true;
    await this.listen();
    const { kafka, redis } = this.options;
    if (kafka) this.tasks.push(this.runLoop(await this.newLoop(kafka.name), (rows) => kafka.publish(rows)));
    if (redis) {
      const loop = await this.newLoop(redis.name);
      this.tasks.push(
        this.runLoop(
          loop,
          (rows) => redis.publish(rows),
          () => this.checkRedis(loop, redis),
        ),
      );
      this.tasks.push(this.runAckScanner(loop, redis));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const loop of this.loops) loop.wakeup.wake();
    this.scanPause.wake();
    await Promise.allSettled(this.tasks);
    await this.listener?.end().catch(() => undefined);
  }

  /** How many rows each sink published since start (for logs and tests). */
  stats(): Record<string, number> {
    return Object.fromEntries(this.loops.map((loop) => [loop.name, loop.published]));
  }

  private async newLoop(name: string): Promise<SinkLoop> {
    const checkpoint = await loadCheckpoint(this.options.pool, name);
    const loop: SinkLoop = { name, wakeup: new Wakeup(), cursor: checkpoint.position, inclusive: false, published: 0 };
    this.loops.push(loop);
    this.options.logger.info({ sink: name, cursor: checkpoint.position }, 'relay sink starting');
    return loop;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.databaseUrl, application_name: 'oms-relay-listen' });
    client.on('notification', () => this.loops.forEach((loop) => loop.wakeup.wake()));
    client.on('error', (error) => {
      this.options.logger.warn({ err: error }, 'LISTEN connection lost; polling until it is back');
      this.listener = undefined;
      setTimeout(() => this.running && this.listen().catch(() => undefined), 1_000);
    });
    await client.connect();
    await client.query(`LISTEN "outbox_${this.options.schema}"`);
    this.listener = client;
  }

  private async runLoop(
    loop: SinkLoop,
    publish: (rows: readonly OutboxRow[]) => Promise<void>,
    beforeBatch?: () => Promise<void>,
  ): Promise<void> {
    const { pool, batchSize, pollMs, logger } = this.options;
    const minInterval = this.options.minBatchIntervalMs ?? 10;
    let failures = 0;
    let lastRead = 0;
    while (this.running) {
      try {
        const sinceLast = performance.now() - lastRead;
        if (sinceLast < minInterval) await new Promise((resolve) => setTimeout(resolve, minInterval - sinceLast));
        if (beforeBatch) await beforeBatch();
        lastRead = performance.now();
        const rows = await readOutbox(pool, loop.cursor, batchSize, loop.inclusive);
        if (rows.length === 0) {
          await loop.wakeup.wait(pollMs);
          continue;
        }
        await publish(rows);
        const last = rows[rows.length - 1] as OutboxRow;
        loop.cursor = positionOf(last);
        loop.inclusive = false;
        await saveCheckpoint(pool, loop.name, loop.cursor);
        loop.published += rows.length;
        failures = 0;
      } catch (error) {
        failures++;
        const backoff = Math.min(100 * 2 ** failures, MAX_BACKOFF_MS);
        logger.warn({ err: error, sink: loop.name, retry_in_ms: backoff }, 'relay sink failed; retrying the batch');
        await loop.wakeup.wait(backoff);
      }
    }
  }

  /** Before each Redis batch: if Redis lost the streams, rebuild them and rewind to the acked floor. */
  private async checkRedis(loop: SinkLoop, redis: RedisSink): Promise<void> {
    const epoch = await redis.epoch();
    if (epoch !== null && epoch === this.redisEpoch) return;
    if (epoch !== null && this.redisEpoch === null) {
      // First look after start: the streams are there; keep the checkpoint.
      this.redisEpoch = epoch;
      return;
    }
    const { ackedFloor } = await loadCheckpoint(this.options.pool, loop.name);
    const rewindTo = ackedFloor ?? OUTBOX_START;
    this.redisEpoch = await redis.rebuild();
    const firstStart = ackedFloor === null && comparePositions(loop.cursor, OUTBOX_START) === 0;
    const message =
      epoch !== null
        ? 'redis streams rebuilt by another relay; re-publishing'
        : firstStart
          ? 'redis streams and consumer groups created'
          : 'redis lost its streams; rebuilt them, re-publishing from the oldest unacknowledged event';
    this.options.logger[firstStart ? 'info' : 'warn']({ sink: loop.name, from: rewindTo, was_at: loop.cursor }, message);
    loop.cursor = rewindTo;
    loop.inclusive = ackedFloor !== null;
  }

  /**
   * Deletes outbox rows that every sink has published and every consumer group has acknowledged
   * (below the Redis floor just measured), once older than the retention, in bounded batches.
   */
  private async pruneOutbox(redisFloor: OutboxPosition): Promise<void> {
    const retentionMs = this.options.outboxRetentionMs;
    if (retentionMs === undefined) return;
    let below = redisFloor;
    for (const loop of this.loops) if (comparePositions(loop.cursor, below) < 0) below = loop.cursor;
    const deleted = await this.options.pool.query(
      `DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox
          WHERE (tx_id, id) < ($1::xid8, $2::uuid) AND created_at < now() - make_interval(secs => $3::double precision / 1000)
          ORDER BY tx_id, id LIMIT 5000)`,
      [below.txId, below.id, retentionMs],
    );
    if ((deleted.rowCount ?? 0) > 0) this.options.logger.debug({ deleted: deleted.rowCount }, 'delivered outbox rows deleted');
  }

  /** Measures acknowledgements, trims streams, and records the acked floor while Redis is intact. */
  private async runAckScanner(loop: SinkLoop, redis: RedisSink): Promise<void> {
    const { pool, ackScanMs, logger } = this.options;
    while (this.running) {
      await this.scanPause.wait(ackScanMs);
      if (!this.running) break;
      try {
        const epochBefore = await redis.epoch();
        if (epochBefore === null || epochBefore !== this.redisEpoch || loop.inclusive) continue;
        const publishedThrough = loop.cursor;
        const scan = await redis.scanAcks();
        // Only a scan of one unbroken epoch proves anything: a flush during the scan would look acknowledged.
        if ((await redis.epoch()) !== epochBefore) continue;
        const floor = scan.oldestUnacked ?? publishedThrough;
        await saveAckedFloor(pool, loop.name, floor);
        await this.pruneOutbox(floor);
        if (scan.trimmedEntries > 0) logger.debug({ trimmed: scan.trimmedEntries }, 'acknowledged stream entries trimmed');
      } catch (error) {
        logger.warn({ err: error }, 'acknowledgement scan failed');
      }
    }
  }
}
