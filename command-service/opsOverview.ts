import { SUBSCRIBERS } from '../domain/subscriptions.js';
import { readBreakerReports } from '../platform/breakerStates.js';
import { countDeadLetters } from '../platform/deadLetters.js';
import type { Queryable } from '../platform/db.js';
import { readHeartbeats } from '../platform/heartbeat.js';
import type { RequestHistory } from '../platform/requestHistory.js';
import type { Redis } from '../platform/redis.js';
import { readGroupBacklogs } from '../platform/streamGroups.js';
import type { StreamLayout } from '../platform/streams.js';
import type { OpsAnswer } from './schemas/responses.js';

/** What the overview reads besides PostgreSQL: the Redis of the streams and heartbeats. */
export interface OpsSources {
  readonly redis: Redis;
  readonly layout: StreamLayout;
  /** This process's API requests per minute (platform/requestHistory); without it, `api_requests` is null. */
  readonly requests?: RequestHistory;
}

export interface OpsSettings {
  readonly sagaStuckAfterMs: number;
  readonly heartbeatMaxAgeMs: number;
}

/** How many minutes of throughput the overview gives. */
export const OPS_WINDOW_MINUTES = 15;
/** Outbox rows after a checkpoint are counted up to this many (a count is a scan; a relay this far behind is down anyway). */
const UNPUBLISHED_COUNT_CAP = 10_000;

type Row<K extends keyof OpsAnswer> = OpsAnswer[K] extends ReadonlyArray<infer R> | null ? R : never;

/**
 * The ops page's overview (GET /api/v1/admin/ops): orders by status from the read model, placements
 * and time to decision per minute, this API process's requests and latency per minute, relay lag per sink, each consumer group's pending and backlog,
 * worker heartbeats, partner breakers, dead letters and stuck sagas. Every part is read on its own:
 * one that fails (Redis down) is named in `unavailable` and the rest is still answered.
 */
export async function readOpsOverview(db: Queryable, sources: OpsSources | undefined, settings: OpsSettings): Promise<OpsAnswer> {
  const now = Date.now();
  const unavailable: string[] = [];
  const part = async <T>(name: string, read: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await read();
    } catch (error) {
      unavailable.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      return fallback;
    }
  };
  const fromRedis = <T>(name: string, read: (s: OpsSources) => Promise<T>): Promise<T | null> => {
    if (sources === undefined) {
      unavailable.push(`${name}: this process has no Redis connection`);
      return Promise.resolve(null);
    }
    return part<T | null>(name, () => read(sources), null);
  };

  const requests = sources?.requests;
  const [ordersByStatus, throughput, relay, deadLetters, stuck, consumers, heartbeats, breakers, apiRequests] = await Promise.all(
    [
      part('orders_by_status', () => ordersByStatusOf(db), []),
      part('throughput', () => throughputOf(db), []),
      part('relay', () => relayLagOf(db), []),
      part('dead_letters', async () => (await countDeadLetters(db)).map(([source, count]) => ({ source, count })), []),
      part('stuck_sagas', () => stuckSagaCount(db, settings.sagaStuckAfterMs), 0),
      fromRedis('consumers', (s) => readGroupBacklogs(s.redis, s.layout, SUBSCRIBERS, now)),
      fromRedis('heartbeats', async (s) =>
        (await readHeartbeats(s.redis, s.layout.prefix))
          .map((beat) => {
            const age = Math.max(0, now - beat.at);
            return { kind: beat.kind, instance: beat.instance, age_ms: age, fresh: age <= settings.heartbeatMaxAgeMs };
          })
          .sort((a, b) => a.kind.localeCompare(b.kind) || a.instance.localeCompare(b.instance)),
      ),
      fromRedis('breakers', async (s) =>
        (await readBreakerReports(s.redis, s.layout.prefix, now, settings.heartbeatMaxAgeMs)).map((r) => ({
          partner: r.partner,
          kind: r.kind,
          instance: r.instance,
          state: r.state,
          age_ms: Math.max(0, now - r.at),
        })),
      ),
      requests === undefined ? Promise.resolve(null) : part('api_requests', () => requests.minutes(OPS_WINDOW_MINUTES), null),
    ],
  );
  return {
    generated_at: new Date(now).toISOString(),
    orders_by_status: ordersByStatus,
    throughput: { window_minutes: OPS_WINDOW_MINUTES, minutes: throughput },
    api_requests: apiRequests,
    relay,
    consumers,
    heartbeats,
    breakers,
    dead_letters: deadLetters.sort((a, b) => a.source.localeCompare(b.source)),
    stuck_sagas: stuck,
    stuck_after_ms: settings.sagaStuckAfterMs,
    unavailable,
  };
}

async function ordersByStatusOf(db: Queryable): Promise<Array<Row<'orders_by_status'>>> {
  const result = await db.query<Row<'orders_by_status'>>(
    'SELECT status, count(*)::int AS count FROM order_view GROUP BY status ORDER BY count DESC, status',
  );
  return result.rows;
}

/**
 * Per minute of the window (empty ones too): orders placed (order_view, by its created_at index) and,
 * of those, how many the funnel projection has seen confirmed or rejected and how long that took
 * (order_funnel, by its placed_at index). The funnel is fed by the analytics consumer; without it the
 * decisions read 0.
 */
async function throughputOf(db: Queryable): Promise<OpsAnswer['throughput']['minutes']> {
  const result = await db.query<{
    minute: Date;
    placed: number;
    confirmed: number;
    rejected: number;
    p50: number | null;
    p95: number | null;
  }>(
    `WITH window_start AS (SELECT date_trunc('minute', now()) - make_interval(mins => $1 - 1) AS at),
          minutes AS (SELECT generate_series((SELECT at FROM window_start), date_trunc('minute', now()), interval '1 minute') AS minute),
          placed AS (
            SELECT date_trunc('minute', created_at) AS minute, count(*)::int AS n
              FROM order_view WHERE created_at >= (SELECT at FROM window_start) GROUP BY 1),
          decided AS (
            SELECT date_trunc('minute', placed_at) AS minute,
                   count(confirmed_at)::int AS confirmed, count(rejected_at)::int AS rejected,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM coalesce(confirmed_at, rejected_at) - placed_at) * 1000) AS p50,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM coalesce(confirmed_at, rejected_at) - placed_at) * 1000) AS p95
              FROM order_funnel
             WHERE placed_at >= (SELECT at FROM window_start) AND coalesce(confirmed_at, rejected_at) IS NOT NULL
             GROUP BY 1)
     SELECT m.minute, coalesce(p.n, 0) AS placed, coalesce(d.confirmed, 0) AS confirmed, coalesce(d.rejected, 0) AS rejected,
            d.p50, d.p95
       FROM minutes m LEFT JOIN placed p USING (minute) LEFT JOIN decided d USING (minute)
      ORDER BY m.minute`,
    [OPS_WINDOW_MINUTES],
  );
  return result.rows.map((r) => ({
    minute: r.minute.toISOString(),
    placed: r.placed,
    confirmed: r.confirmed,
    rejected: r.rejected,
    decision_p50_ms: r.p50 === null ? null : Math.round(r.p50),
    decision_p95_ms: r.p95 === null ? null : Math.round(r.p95),
  }));
}

/**
 * Per relay sink: when its checkpoint last moved, and the outbox rows after it (the oldest one's age).
 * The checkpoint moves in (tx_id, id) order only, below the oldest open transaction; rows published
 * ahead of that horizon (decision 0011) count here until it passes, so this is an upper bound of what
 * is unpublished. What reached Redis shows in the consumer groups; the relay's own `oms_relay_lag_seconds`
 * measures publication.
 */
async function relayLagOf(db: Queryable): Promise<Array<Row<'relay'>>> {
  const result = await db.query<{ sink: string; checkpoint_at: Date; after_checkpoint: number; oldest_ms: string | null }>(
    `SELECT c.sink, c.updated_at AS checkpoint_at, u.after_checkpoint,
            (extract(epoch FROM now() - u.oldest) * 1000)::bigint::text AS oldest_ms
       FROM relay_checkpoints c
       LEFT JOIN LATERAL (
         SELECT count(*)::int AS after_checkpoint, min(created_at) AS oldest
           FROM (SELECT o.created_at FROM outbox o
                  WHERE (o.tx_id, o.id) > (c.tx_id, c.id)
                  ORDER BY o.tx_id, o.id LIMIT $1) behind) u ON true
      ORDER BY c.sink`,
    [UNPUBLISHED_COUNT_CAP],
  );
  return result.rows.map((r) => ({
    sink: r.sink,
    checkpoint_at: r.checkpoint_at.toISOString(),
    after_checkpoint: r.after_checkpoint,
    oldest_after_checkpoint_ms: r.oldest_ms === null ? null : Math.max(0, Number(r.oldest_ms)),
  }));
}

async function stuckSagaCount(db: Queryable, stuckAfterMs: number): Promise<number> {
  const result = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM sagas
      WHERE status IN ('running', 'compensating') AND updated_at < now() - make_interval(secs => $1::double precision / 1000)`,
    [stuckAfterMs],
  );
  return result.rows[0]?.n ?? 0;
}
