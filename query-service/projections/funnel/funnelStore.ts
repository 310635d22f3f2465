import { FUNNEL_EVENT_TYPES, foldFunnel, type FunnelEvent, type FunnelRow } from '../../../domain/funnel.js';
import type { Pool, Queryable } from '../../../platform/db.js';

/**
 * The order funnel's table (migration 0016). Every write folds the orders' funnel events from the event
 * log itself (one read for a whole batch of orders), so a redelivered, duplicated or lost stream entry
 * changes nothing: the row is always what the log says.
 */
export async function refreshFunnel(db: Queryable, orderIds: readonly string[]): Promise<number> {
  if (orderIds.length === 0) return 0;
  const { rows } = await db.query<{
    order_id: string;
    seq: number;
    type: string;
    occurred_at: Date;
    payload: Record<string, unknown>;
  }>(
    `SELECT order_id, seq, type, occurred_at, payload FROM order_events
      WHERE order_id = ANY($1::uuid[]) AND type = ANY($2::text[]) ORDER BY order_id, seq`,
    [orderIds, FUNNEL_EVENT_TYPES],
  );
  const byOrder = new Map<string, FunnelEvent[]>();
  for (const r of rows) {
    const events = byOrder.get(r.order_id) ?? [];
    events.push({ seq: r.seq, type: r.type, occurredAt: r.occurred_at, payload: r.payload });
    byOrder.set(r.order_id, events);
  }
  return writeFunnelRows(
    db,
    [...byOrder].map(([orderId, events]) => [orderId, foldFunnel(events)] as const),
  );
}

/** Upserts rows in one statement. */
export async function writeFunnelRows(db: Queryable, rows: ReadonlyArray<readonly [string, FunnelRow]>): Promise<number> {
  if (rows.length === 0) return 0;
  const column = <K extends keyof FunnelRow>(key: K) => rows.map(([, row]) => row[key]);
  const result = await db.query(
    `INSERT INTO order_funnel (order_id, channel, placed_at, confirmed_at, rejected_at, shipped_at, delivered_at, cancelled_at)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[],
                          $7::timestamptz[], $8::timestamptz[])
     ON CONFLICT (order_id) DO UPDATE SET
       channel = EXCLUDED.channel, placed_at = EXCLUDED.placed_at, confirmed_at = EXCLUDED.confirmed_at,
       rejected_at = EXCLUDED.rejected_at, shipped_at = EXCLUDED.shipped_at, delivered_at = EXCLUDED.delivered_at,
       cancelled_at = EXCLUDED.cancelled_at, updated_at = now()
     WHERE (order_funnel.channel, order_funnel.placed_at, order_funnel.confirmed_at, order_funnel.rejected_at,
            order_funnel.shipped_at, order_funnel.delivered_at, order_funnel.cancelled_at)
           IS DISTINCT FROM (EXCLUDED.channel, EXCLUDED.placed_at, EXCLUDED.confirmed_at, EXCLUDED.rejected_at,
                             EXCLUDED.shipped_at, EXCLUDED.delivered_at, EXCLUDED.cancelled_at)`,
    [
      rows.map(([orderId]) => orderId),
      column('channel'),
      column('placedAt'),
      column('confirmedAt'),
      column('rejectedAt'),
      column('shippedAt'),
      column('deliveredAt'),
      column('cancelledAt'),
    ],
  );
  return result.rowCount ?? 0;
}

/**
 * Rebuilds the whole funnel from the event log (the replay tool): every order's funnel events in
 * order, folded a page of orders at a time, written in place (the rows are each order's truth, so a
 * rebuild while the consumer runs converges). Answers the orders written.
 */
export async function rebuildFunnel(
  pool: Pool,
  onProgress: (orders: number) => void = () => undefined,
  pageSize = 2_000,
): Promise<number> {
  let after = '00000000-0000-0000-0000-000000000000';
  let written = 0;
  for (;;) {
    const page = await pool.query<{ order_id: string }>(
      `SELECT DISTINCT order_id FROM order_events WHERE order_id > $1 AND type = 'order.placed' ORDER BY order_id LIMIT $2`,
      [after, pageSize],
    );
    if (page.rows.length === 0) break;
    const ids = page.rows.map((r) => r.order_id);
    await refreshFunnel(pool, ids);
    written += ids.length;
    after = ids[ids.length - 1]!;
    onProgress(written);
  }
  return written;
}

export interface FunnelQuery {
  readonly from: Date;
  readonly to: Date;
  readonly channel: string | undefined;
}

const STEPS = ['placed', 'confirmed', 'rejected', 'shipped', 'delivered', 'cancelled'] as const;

/** Counts per placement hour and channel, and the totals with conversions and step latencies (p50/p95, ms). */
export async function funnelReport(db: Queryable, query: FunnelQuery) {
  const params = [query.from, query.to, query.channel ?? null];
  const where = `placed_at >= $1 AND placed_at < $2 AND ($3::text IS NULL OR channel = $3)`;
  const counts = STEPS.map((s) => `count(${s === 'placed' ? 'placed_at' : `${s}_at`})::int AS ${s}`).join(', ');
  const hours = await db.query<Record<(typeof STEPS)[number], number> & { hour: Date; channel: string }>(
    `SELECT date_trunc('hour', placed_at) AS hour, channel, ${counts}
       FROM order_funnel WHERE ${where} GROUP BY 1, 2 ORDER BY 1, 2`,
    params,
  );
  const latency = (from: string, to: string) =>
    `percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM ${to} - ${from}) * 1000) AS "${from}|${to}|p50",
     percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM ${to} - ${from}) * 1000) AS "${from}|${to}|p95"`;
  const totals = await db.query<Record<string, number | null>>(
    `SELECT ${counts},
            ${latency('placed_at', 'confirmed_at')}, ${latency('confirmed_at', 'shipped_at')},
            ${latency('shipped_at', 'delivered_at')}, ${latency('placed_at', 'delivered_at')}
       FROM order_funnel WHERE ${where}`,
    params,
  );
  const t = totals.rows[0] ?? {};
  const n = (key: string) => Number(t[key] ?? 0);
  const ratio = (part: number, whole: number) => (whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000);
  const ms = (from: string, to: string) => ({
    p50: t[`${from}|${to}|p50`] === null ? null : Math.round(Number(t[`${from}|${to}|p50`])),
    p95: t[`${from}|${to}|p95`] === null ? null : Math.round(Number(t[`${from}|${to}|p95`])),
  });
  return {
    from: query.from.toISOString(),
    to: query.to.toISOString(),
    channel: query.channel ?? null,
    cohorts: 'an order counts in the hour and channel it was placed in',
    hours: hours.rows.map((r) => ({
      hour: r.hour.toISOString(),
      channel: r.channel,
      ...Object.fromEntries(STEPS.map((s) => [s, r[s]])),
    })),
    totals: {
      ...Object.fromEntries(STEPS.map((s) => [s, n(s)])),
      conversion: {
        placed_to_confirmed: ratio(n('confirmed'), n('placed')),
        confirmed_to_shipped: ratio(n('shipped'), n('confirmed')),
        shipped_to_delivered: ratio(n('delivered'), n('shipped')),
      },
      latency_ms: {
        placed_to_confirmed: ms('placed_at', 'confirmed_at'),
        confirmed_to_shipped: ms('confirmed_at', 'shipped_at'),
        shipped_to_delivered: ms('shipped_at', 'delivered_at'),
        placed_to_delivered: ms('placed_at', 'delivered_at'),
      },
    },
  };
}
