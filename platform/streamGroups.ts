import type { Redis } from './redis.js';
import { groupStreams, parseFields, type StreamLayout } from './streams.js';

/** A consumer group's position over its streams (every partition), as Redis reports it now. */
export interface GroupBacklog {
  readonly group: string;
  /** Entries delivered to a consumer and not yet acknowledged (XINFO GROUPS pending). */
  readonly pending: number;
  /** Entries not yet delivered to the group (XINFO GROUPS lag). */
  readonly backlog: number;
  /** Age of the oldest pending entry (XPENDING's smallest id); null when none is pending. */
  readonly oldest_pending_ms: number | null;
  /** Age of the oldest entry not yet delivered; null when the group is caught up. */
  readonly oldest_backlog_ms: number | null;
  /** Consumers the group knows, over its streams. */
  readonly consumers: number;
  /** Streams of the group that exist (the relay creates them; a group nobody has published to has none). */
  readonly streams: number;
}

/** The ms part of a stream id `ms-seq`. */
export const streamIdTime = (id: string) => Number(id.split('-')[0]);

/** One consumer group on one stream, as Redis reports it now. */
export interface StreamGroupState {
  readonly name: string;
  /** Entries delivered to a consumer and not yet acknowledged. */
  readonly pending: number;
  /** Entries not yet delivered (Redis 7; 0 when Redis cannot tell, after deletions). */
  readonly lag: number;
  readonly consumers: number;
  readonly lastDeliveredId: string;
  /** The oldest entry delivered and not acknowledged (XPENDING's smallest id); undefined when none is. */
  readonly oldestPendingId: string | undefined;
  /** The oldest entry not yet delivered to the group; undefined when it is caught up. */
  readonly oldestUndeliveredId: string | undefined;
}

/**
 * The consumer groups of one stream (XINFO GROUPS, then per group an XPENDING where something is
 * pending and one XRANGE); undefined when the stream does not exist. Read by the ops overview and by
 * the relay's trimming, never per message.
 */
export async function readStreamGroups(redis: Redis, stream: string): Promise<StreamGroupState[] | undefined> {
  let raw: unknown[];
  try {
    raw = (await redis.xinfo('GROUPS', stream)) as unknown[];
  } catch (error) {
    if (String(error).includes('no such key')) return undefined;
    throw error;
  }
  return Promise.all(
    raw.map(async (entry) => {
      const fields = parseFields((entry as unknown[]).map((v) => String(v)));
      const name = fields.name ?? '';
      const pending = Number(fields.pending ?? 0);
      const lag = Number(fields.lag);
      const lastDeliveredId = fields['last-delivered-id'] ?? '0-0';
      let oldestPendingId: string | undefined;
      if (pending > 0) {
        const summary = (await redis.xpending(stream, name)) as [number, string | null, string | null, unknown];
        oldestPendingId = summary[1] ?? undefined;
      }
      const next = await redis.xrange(stream, `(${lastDeliveredId}`, '+', 'COUNT', 1);
      return {
        name,
        pending,
        lag: Number.isFinite(lag) ? lag : 0,
        consumers: Number(fields.consumers ?? 0),
        lastDeliveredId,
        oldestPendingId,
        oldestUndeliveredId: next[0]?.[0],
      };
    }),
  );
}

/**
 * Reads each group's pending, backlog and their ages from its streams (readStreamGroups): a handful of
 * commands per stream, for an operator's page, not for a hot path.
 */
export async function readGroupBacklogs(
  redis: Redis,
  layout: StreamLayout,
  groups: readonly string[],
  now: number,
): Promise<GroupBacklog[]> {
  return Promise.all(
    groups.map(async (group) => {
      let pending = 0;
      let backlog = 0;
      let consumers = 0;
      let streams = 0;
      let oldestPending: number | undefined;
      let oldestBacklog: number | undefined;
      for (const stream of groupStreams(layout, group)) {
        const states = await readStreamGroups(redis, stream);
        if (states === undefined) continue;
        streams++;
        const state = states.find((s) => s.name === group);
        if (state === undefined) continue;
        pending += state.pending;
        consumers += state.consumers;
        backlog += state.lag;
        if (state.oldestPendingId !== undefined)
          oldestPending = Math.min(oldestPending ?? Infinity, streamIdTime(state.oldestPendingId));
        if (state.oldestUndeliveredId !== undefined)
          oldestBacklog = Math.min(oldestBacklog ?? Infinity, streamIdTime(state.oldestUndeliveredId));
      }
      return {
        group,
        pending,
        backlog,
        oldest_pending_ms: oldestPending === undefined ? null : Math.max(0, now - oldestPending),
        oldest_backlog_ms: oldestBacklog === undefined ? null : Math.max(0, now - oldestBacklog),
        consumers,
        streams,
      };
    }),
  );
}
