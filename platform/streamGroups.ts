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
const idTime = (id: string) => Number(id.split('-')[0]);

/**
 * Reads each group's pending, backlog and their ages from its streams (XINFO GROUPS, then XPENDING and
 * one XRANGE per stream only where something waits): a handful of commands per stream, for an
 * operator's page, not for a hot path.
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
        let raw: unknown[];
        try {
          raw = (await redis.xinfo('GROUPS', stream)) as unknown[];
        } catch (error) {
          if (String(error).includes('no such key')) continue;
          throw error;
        }
        streams++;
        const info = raw
          .map((entry) => parseFields((entry as unknown[]).map((v) => String(v))))
          .find((fields) => fields.name === group);
        if (info === undefined) continue;
        const groupPending = Number(info.pending ?? 0);
        pending += groupPending;
        consumers += Number(info.consumers ?? 0);
        // Redis 7 reports the lag; nil when it cannot tell (after deletions), counted as 0 here.
        const lag = Number(info.lag);
        backlog += Number.isFinite(lag) ? lag : 0;
        if (groupPending > 0) {
          const summary = (await redis.xpending(stream, group)) as [number, string | null, string | null, unknown];
          if (summary[1] !== null) oldestPending = Math.min(oldestPending ?? Infinity, idTime(summary[1]));
        }
        const next = await redis.xrange(stream, `(${info['last-delivered-id'] ?? '0-0'}`, '+', 'COUNT', 1);
        if (next[0] !== undefined) oldestBacklog = Math.min(oldestBacklog ?? Infinity, idTime(next[0][0]));
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
