import type { Queryable } from '../../../platform/db.js';
import { evolve, type OrderView, type OrderViewEvent } from './evolve.js';

export type ProjectOutcome = 'applied' | 'duplicate' | 'gap-filled';

/**
 * Applies one event to the order's view, idempotently by seq: an event at or below the view's version
 * was applied already and is ignored; one beyond the next seq means events went missing on the way
 * (lost, reordered), so the gap is read from the event log and applied first. Must run in a
 * transaction: the view row is locked while it changes.
 */
export async function projectEvent(tx: Queryable, event: OrderViewEvent): Promise<ProjectOutcome> {
  const current = await tx.query<{ version: number; doc: OrderView }>(
    'SELECT version, doc FROM order_view WHERE order_id = $1 FOR UPDATE',
    [event.order_id],
  );
  const row = current.rows[0];
  const version = row?.version ?? 0;
  if (event.seq <= version) return 'duplicate';
  let events: OrderViewEvent[] = [event];
  if (event.seq > version + 1) {
    const missing = await tx.query<OrderViewEvent>(
      `SELECT event_id, order_id, seq, type, payload, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at
         FROM order_events WHERE order_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq`,
      [event.order_id, version, event.seq],
    );
    events = missing.rows;
  }
  let view: OrderView | undefined = row?.doc;
  for (const e of events) view = evolve(view, e);
  if (view === undefined) return 'duplicate';
  await writeView(tx, 'order_view', view);
  return events.length > 1 ? 'gap-filled' : 'applied';
}

/** Upserts a view document into a table of the order_view shape (the live one, or a replay's fresh copy). */
export async function writeView(db: Queryable, table: string, view: OrderView): Promise<void> {
  await db.query(
    `INSERT INTO ${table} (order_id, version, status, customer_id, created_at, updated_at, doc)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (order_id) DO UPDATE
       SET version = EXCLUDED.version, status = EXCLUDED.status, updated_at = EXCLUDED.updated_at, doc = EXCLUDED.doc`,
    [view.order_id, view.version, view.status, view.customer_id, view.created_at, view.updated_at, JSON.stringify(view)],
  );
}
