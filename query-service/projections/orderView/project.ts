import type { Queryable } from '../../../platform/db.js';
import { evolve, type OrderView, type OrderViewEvent } from './evolve.js';
import { EVENT_ENVELOPE_COLUMNS } from './queries.js';

export type ProjectOutcome = 'applied' | 'duplicate' | 'gap-filled';

const MAX_ATTEMPTS = 10;

/**
 * Applies one event to the order's view, idempotently by seq: an event at or below the view's version
 * was applied already and is ignored; one beyond the next seq means events went missing on the way
 * (lost, reordered), so the gap is read from the event log and applied first. Optimistic: read, fold,
 * then write only if the version is still the one read (two statements, no transaction); a concurrent
 * writer makes it read again.
 */
export async function projectEvent(db: Queryable, event: OrderViewEvent): Promise<ProjectOutcome> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const current = await db.query<{ version: number; doc: OrderView }>(
      'SELECT version, doc FROM order_view WHERE order_id = $1',
      [event.order_id],
    );
    const row = current.rows[0];
    const version = row?.version ?? 0;
    if (event.seq <= version) return 'duplicate';
    let events: OrderViewEvent[] = [event];
    if (event.seq > version + 1) {
      const missing = await db.query<OrderViewEvent>(
        `SELECT ${EVENT_ENVELOPE_COLUMNS}
           FROM order_events WHERE order_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq`,
        [event.order_id, version, event.seq],
      );
      events = missing.rows;
    }
    let view: OrderView | undefined = row?.doc;
    for (const e of events) view = evolve(view, e);
    if (view === undefined) return 'duplicate';
    if (await writeIfUnchanged(db, view, row === undefined ? null : version)) return events.length > 1 ? 'gap-filled' : 'applied';
  }
  throw new Error(`order ${event.order_id}: the view kept changing under the projector`);
}

/** Writes the view if the stored one is still at `expected` (null: there is none yet). */
async function writeIfUnchanged(db: Queryable, view: OrderView, expected: number | null): Promise<boolean> {
  const values = [
    view.order_id,
    view.version,
    view.status,
    view.customer_id,
    view.created_at,
    view.updated_at,
    JSON.stringify(view),
  ];
  const result =
    expected === null
      ? await db.query(
          `INSERT INTO order_view (order_id, version, status, customer_id, created_at, updated_at, doc)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (order_id) DO NOTHING`,
          values,
        )
      : await db.query(
          `UPDATE order_view SET version = $2, status = $3, updated_at = $6, doc = $7
            WHERE order_id = $1 AND version = $8 AND customer_id = $4 AND created_at = $5`,
          [...values, expected],
        );
  return result.rowCount === 1;
}
