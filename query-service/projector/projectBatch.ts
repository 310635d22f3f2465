import type { Queryable } from '../../platform/db.js';
import { evolve, type OrderView, type OrderViewEvent } from '../projections/orderView/evolve.js';
import { EVENT_ENVELOPE_COLUMNS } from '../projections/orderView/queries.js';

export interface BatchProjection {
  /** Orders whose view moved on. */
  readonly applied: number;
  /** Orders whose view had to be completed from the event log (events missing on the way). */
  readonly gapFilled: readonly string[];
  /** Orders this batch could not bring up to date (their events stay for a retry), with why. */
  readonly failed: ReadonlyMap<string, unknown>;
}

const MAX_ATTEMPTS = 10;

interface Plan {
  readonly orderId: string;
  /** The stored view's version (null: no view yet). */
  readonly expected: number | null;
  readonly view: OrderView;
}

/**
 * projectEvent for a whole batch, set-based: the batch's events grouped by order; one read of every
 * touched view; for orders where events are missing before or between the batch's (lost, reordered),
 * one read of the event log for all of them; the fold in memory; one statement writing every view
 * that moved, each only if its version is still the one read (optimistic, as projectEvent). Orders a
 * concurrent writer changed meanwhile are read and folded again, up to MAX_ATTEMPTS. Idempotent by
 * seq: events at or below a view's version are ignored.
 */
export async function projectBatch(db: Queryable, events: readonly OrderViewEvent[]): Promise<BatchProjection> {
  const byOrder = new Map<string, Map<number, OrderViewEvent>>();
  for (const event of events) {
    let seqs = byOrder.get(event.order_id);
    if (seqs === undefined) byOrder.set(event.order_id, (seqs = new Map()));
    seqs.set(event.seq, event);
  }
  let pending = [...byOrder.keys()];
  let applied = 0;
  const gapFilled = new Set<string>();
  const failed = new Map<string, unknown>();
  for (let attempt = 0; attempt < MAX_ATTEMPTS && pending.length > 0; attempt++) {
    const stored = await readViews(db, pending);
    const plans: Plan[] = [];
    const gaps: Array<{ orderId: string; after: number; upto: number }> = [];
    const newEvents = new Map<string, OrderViewEvent[]>();
    for (const orderId of pending) {
      const version = stored.get(orderId)?.version ?? 0;
      const fresh = [...(byOrder.get(orderId) as Map<number, OrderViewEvent>).values()]
        .filter((e) => e.seq > version)
        .sort((a, b) => a.seq - b.seq);
      if (fresh.length === 0) continue;
      const last = fresh[fresh.length - 1] as OrderViewEvent;
      if (last.seq - version !== fresh.length) gaps.push({ orderId, after: version, upto: last.seq });
      else newEvents.set(orderId, fresh);
    }
    if (gaps.length > 0) {
      for (const [orderId, logged] of await readEventLog(db, gaps)) {
        newEvents.set(orderId, logged);
        gapFilled.add(orderId);
      }
    }
    for (const [orderId, fresh] of newEvents) {
      const row = stored.get(orderId);
      try {
        let view: OrderView | undefined = row?.doc;
        for (const event of fresh) view = evolve(view, event);
        if (view !== undefined) plans.push({ orderId, expected: row === undefined ? null : row.version, view });
      } catch (error) {
        failed.set(orderId, error);
      }
    }
    const written = await writeViews(db, plans);
    applied += written.size;
    pending = plans.filter((plan) => !written.has(plan.orderId)).map((plan) => plan.orderId);
  }
  for (const orderId of pending) failed.set(orderId, new Error(`order ${orderId}: the view kept changing under the projector`));
  return { applied, gapFilled: [...gapFilled], failed };
}

async function readViews(db: Queryable, orderIds: readonly string[]): Promise<Map<string, { version: number; doc: OrderView }>> {
  const result = await db.query<{ order_id: string; version: number; doc: OrderView }>(
    'SELECT order_id, version, doc FROM order_view WHERE order_id = ANY($1::uuid[])',
    [orderIds],
  );
  return new Map(result.rows.map((row) => [row.order_id, { version: row.version, doc: row.doc }]));
}

/** Every order's events in (after, upto] from the event log, in one statement. */
async function readEventLog(
  db: Queryable,
  ranges: ReadonlyArray<{ orderId: string; after: number; upto: number }>,
): Promise<Map<string, OrderViewEvent[]>> {
  const result = await db.query<OrderViewEvent>(
    `SELECT ${EVENT_ENVELOPE_COLUMNS}
       FROM order_events
       JOIN unnest($1::uuid[], $2::int[], $3::int[]) AS r(range_order_id, after_seq, upto_seq)
         ON order_id = r.range_order_id AND seq > r.after_seq AND seq <= r.upto_seq
      ORDER BY order_id, seq`,
    [ranges.map((r) => r.orderId), ranges.map((r) => r.after), ranges.map((r) => r.upto)],
  );
  const byOrder = new Map<string, OrderViewEvent[]>();
  for (const event of result.rows) {
    const list = byOrder.get(event.order_id);
    if (list === undefined) byOrder.set(event.order_id, [event]);
    else list.push(event);
  }
  return byOrder;
}

/** Inserts new views and updates moved ones, each only if unchanged since read; answers the orders written. */
async function writeViews(db: Queryable, plans: readonly Plan[]): Promise<Set<string>> {
  if (plans.length === 0) return new Set();
  const result = await db.query<{ order_id: string }>(
    `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::jsonb[], $8::int[])
         AS t(order_id, version, status, customer_id, created_at, updated_at, doc, expected)
     ), inserted AS (
       INSERT INTO order_view (order_id, version, status, customer_id, created_at, updated_at, doc)
       SELECT order_id, version, status, customer_id, created_at, updated_at, doc FROM input WHERE expected IS NULL
        ORDER BY order_id
       ON CONFLICT (order_id) DO NOTHING
       RETURNING order_id
     ), locked AS (
       -- Rows locked in order_id order, new ones inserted in that order too: two projectors writing
       -- overlapping orders wait for each other instead of deadlocking.
       SELECT order_id FROM order_view WHERE order_id = ANY($1::uuid[]) ORDER BY order_id FOR UPDATE
     ), updated AS (
       UPDATE order_view v SET version = i.version, status = i.status, updated_at = i.updated_at, doc = i.doc
         FROM input i JOIN locked l ON l.order_id = i.order_id
        WHERE i.expected IS NOT NULL AND v.order_id = i.order_id AND v.version = i.expected
          AND v.customer_id = i.customer_id AND v.created_at = i.created_at
       RETURNING v.order_id
     )
     SELECT order_id FROM inserted UNION ALL SELECT order_id FROM updated`,
    [
      plans.map((p) => p.orderId),
      plans.map((p) => p.view.version),
      plans.map((p) => p.view.status),
      plans.map((p) => p.view.customer_id),
      plans.map((p) => p.view.created_at),
      plans.map((p) => p.view.updated_at),
      plans.map((p) => JSON.stringify(p.view)),
      plans.map((p) => p.expected),
    ],
  );
  return new Set(result.rows.map((row) => row.order_id));
}
