import { randomUUID } from 'node:crypto';
import type { Redis } from '../platform/redis.js';
import {
  allStreams,
  entryFields,
  epochKey,
  groupStreams,
  parseFields,
  streamForOrder,
  type StreamLayout,
} from '../platform/streams.js';
import { comparePositions, formatPosition, parsePosition, type OutboxPosition, type OutboxRow } from './outbox.js';
import { metrics } from '../platform/metrics.js';
import { readStreamGroups, streamIdTime } from '../platform/streamGroups.js';

export interface AckScan {
  /** The oldest outbox position some group has not acknowledged; null when every entry is acknowledged. */
  readonly oldestUnacked: OutboxPosition | null;
  readonly trimmedEntries: number;
}

/** The consumer groups and the event types each one reads (`every`: all of them). */
export type GroupSubscriptions = Readonly<Record<string, readonly string[] | 'every'>>;

/**
 * Publishes outbox rows to Redis Streams — each consumer group has streams of its own (one per hash
 * partition of the order id) and gets only the event types it subscribes to — and keeps the streams
 * safe to trim: an entry is removed only once its group has acknowledged it.
 * Redis is never the source of truth: an epoch key marks the streams this relay built, and when it is
 * gone (a restart without data, FLUSHALL) the relay rebuilds and re-publishes (see Relay).
 */
export class RedisSink {
  readonly name: string;
  private readonly groups: readonly string[];
  /** Per event type, the groups that read it (filled as types are met). */
  private readonly readers = new Map<string, readonly string[]>();

  constructor(
    private readonly redis: Redis,
    private readonly layout: StreamLayout,
    private readonly subscriptions: GroupSubscriptions,
  ) {
    this.name = `redis:${layout.prefix}`;
    this.groups = Object.keys(subscriptions);
  }

  private readersOf(type: string): readonly string[] {
    let groups = this.readers.get(type);
    if (groups === undefined) {
      groups = this.groups.filter((group) => {
        const subscription = this.subscriptions[group];
        return subscription === 'every' || (subscription ?? []).includes(type);
      });
      this.readers.set(type, groups);
    }
    return groups;
  }

  /** The current epoch, or null when Redis lost what the relay built. */
  async epoch(): Promise<string | null> {
    return this.redis.get(epochKey(this.layout));
  }

  /** Creates every stream and consumer group (from the start of the stream), then a new epoch. */
  async rebuild(): Promise<string> {
    for (const group of this.groups) {
      for (const stream of groupStreams(this.layout, group)) {
        await this.redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM').catch((error: unknown) => {
          if (!String(error).includes('BUSYGROUP')) throw error;
        });
      }
    }
    const epoch = randomUUID();
    await this.redis.set(epochKey(this.layout), epoch);
    return epoch;
  }

  /**
   * Adds the rows to their streams and, in the same round trip after them, reads the epoch: when it is
   * not the one the caller knows, these entries may have gone into a Redis that lost its data (the
   * caller rebuilds and re-publishes). Returns that epoch.
   */
  async publish(rows: readonly OutboxRow[]): Promise<string | null> {
    const pipeline = this.redis.pipeline();
    for (const row of rows) {
      const fields = entryFields({
        event_id: row.id,
        order_id: row.aggregateid,
        seq: String(row.seq),
        type: row.type,
        pos: formatPosition({ txId: row.tx_id, id: row.id }),
        envelope: row.payload,
        correlation_id: row.correlation_id ?? null,
        traceparent: row.traceparent ?? null,
      });
      for (const group of this.readersOf(row.type))
        pipeline.xadd(streamForOrder(this.layout, group, row.aggregateid), '*', ...fields);
    }
    pipeline.get(epochKey(this.layout));
    const results = await pipeline.exec();
    if (results === null) throw new Error('redis pipeline discarded');
    const failed = results.find(([error]) => error !== null);
    if (failed) throw failed[0];
    const epoch = results[results.length - 1]?.[1];
    return typeof epoch === 'string' ? epoch : null;
  }

  /**
   * Measures, per stream, the oldest entry some group has not acknowledged (pending, or not yet
   * delivered), trims everything before it, and returns the oldest such entry's outbox position.
   */
  async scanAcks(): Promise<AckScan> {
    let oldest: OutboxPosition | null = null;
    let trimmedEntries = 0;
    // The consumer groups' gauges, from the same reads (every RELAY_ACK_SCAN_MS, never per message).
    const backlog = new Map<string, { pending: number; lag: number; oldestMs: number | undefined }>();
    const now = Date.now();
    for (const stream of allStreams(this.layout, this.groups)) {
      const groups = await readStreamGroups(this.redis, stream);
      if (groups === undefined) continue;
      let oldestId: string | undefined;
      for (const group of groups) {
        const totals = backlog.get(group.name) ?? { pending: 0, lag: 0, oldestMs: undefined };
        backlog.set(group.name, totals);
        totals.pending += group.pending;
        totals.lag += group.lag;
        if (group.oldestPendingId !== undefined) oldestId = minStreamId(oldestId, group.oldestPendingId);
        if (group.oldestUndeliveredId !== undefined) {
          oldestId = minStreamId(oldestId, group.oldestUndeliveredId);
          const addedMs = streamIdTime(group.oldestUndeliveredId);
          totals.oldestMs = Math.min(totals.oldestMs ?? addedMs, addedMs);
        }
      }
      if (oldestId !== undefined) {
        const entry = await this.redis.xrange(stream, oldestId, oldestId);
        const pos = entry[0] ? parseFields(entry[0][1]).pos : undefined;
        if (pos !== undefined) {
          const position = parsePosition(pos);
          if (oldest === null || comparePositions(position, oldest) < 0) oldest = position;
        }
        trimmedEntries += await this.redis.xtrim(stream, 'MINID', oldestId);
      } else if (groups.length > 0) {
        // Every group has read and acknowledged everything up to its last delivered id. Trim to the
        // lowest of those, not to the stream's end: entries added since XINFO are not yet delivered.
        const floor = groups.map((g) => g.lastDeliveredId).reduce((a, b) => (compareStreamIds(a, b) <= 0 ? a : b));
        trimmedEntries += await this.redis.xtrim(stream, 'MINID', floor);
      }
    }
    for (const [group, totals] of backlog) {
      metrics.consumerPending.set({ group }, totals.pending);
      metrics.consumerBacklog.set({ group }, totals.lag);
      metrics.consumerBacklogAge.set({ group }, totals.oldestMs === undefined ? 0 : Math.max(0, now - totals.oldestMs) / 1000);
    }
    return { oldestUnacked: oldest, trimmedEntries };
  }
}

/** Stream ids `ms-seq` compared numerically. */
export function compareStreamIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

function minStreamId(current: string | undefined, candidate: string): string {
  return current === undefined || compareStreamIds(candidate, current) < 0 ? candidate : current;
}
