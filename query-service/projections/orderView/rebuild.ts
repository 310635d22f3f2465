import { withTransaction, type Pool, type Queryable } from '../../../platform/db.js';
import { fold, type OrderView, type OrderViewEvent } from './evolve.js';
import { EVENT_ENVELOPE_COLUMNS } from './queries.js';

export interface RebuildProgress {
  readonly events: number;
  readonly total: number;
  readonly orders: number;
}

/** A fresh table of order_view's shape, named for this run. */
export async function createViewTable(db: Queryable, purpose: 'rebuild' | 'verify'): Promise<string> {
  const table = `order_view_${purpose}_${Date.now().toString(36)}`;
  await db.query(`CREATE TABLE ${table} (LIKE order_view INCLUDING ALL)`);
  return table;
}

/**
 * Folds every order's events from the event log into `table`, in pages ordered by (order_id, seq)
 * (the event log's own unique index), writing each page's finished orders in one statement.
 */
export async function rebuildInto(
  pool: Pool,
  table: string,
  onProgress: (progress: RebuildProgress) => void,
  pageSize = 5_000,
): Promise<RebuildProgress> {
  const total = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM order_events')).rows[0]?.n ?? 0);
  let after: { orderId: string; seq: number } = { orderId: '00000000-0000-0000-0000-000000000000', seq: 0 };
  let pending: OrderViewEvent[] = [];
  let events = 0;
  let orders = 0;
  for (;;) {
    const page = await pool.query<OrderViewEvent>(
      `SELECT ${EVENT_ENVELOPE_COLUMNS} FROM order_events WHERE (order_id, seq) > ($1::uuid, $2) ORDER BY order_id, seq LIMIT $3`,
      [after.orderId, after.seq, pageSize],
    );
    const rows = page.rows;
    const last = rows[rows.length - 1];
    // Orders whose events may continue on the next page wait for it; the others are complete.
    const complete: OrderView[] = [];
    for (const event of rows) {
      if (pending.length > 0 && pending[0]?.order_id !== event.order_id) {
        const view = fold(pending);
        if (view) complete.push(view);
        pending = [];
      }
      pending.push(event);
    }
    if (last === undefined) {
      const view = fold(pending);
      if (view) complete.push(view);
      pending = [];
    }
    if (complete.length > 0) await writeViews(pool, table, complete);
    events += rows.length;
    orders += complete.length;
    onProgress({ events, total, orders });
    if (last === undefined) return { events, total, orders };
    after = { orderId: last.order_id, seq: last.seq };
  }
}

export async function writeViews(db: Queryable, table: string, views: readonly OrderView[]): Promise<void> {
  await db.query(
    `INSERT INTO ${table} (order_id, version, status, customer_id, created_at, updated_at, doc)
     SELECT (d->>'order_id')::uuid, (d->>'version')::int, d->>'status', d->>'customer_id',
            (d->>'created_at')::timestamptz, (d->>'updated_at')::timestamptz, d
       FROM jsonb_array_elements($1::jsonb) AS d
     ON CONFLICT (order_id) DO UPDATE
       SET version = EXCLUDED.version, status = EXCLUDED.status, updated_at = EXCLUDED.updated_at, doc = EXCLUDED.doc`,
    [JSON.stringify(views)],
  );
}

/** Re-folds, into `table`, every order whose events went beyond what `table` holds. */
export async function catchUp(db: Queryable, table: string): Promise<number> {
  const behind = await db.query<{ order_id: string }>(
    `SELECT e.order_id FROM order_events e LEFT JOIN ${table} v ON v.order_id = e.order_id
      GROUP BY e.order_id, v.version HAVING max(e.seq) > coalesce(v.version, 0)`,
  );
  const ids = behind.rows.map((r) => r.order_id);
  if (ids.length === 0) return 0;
  const events = await db.query<OrderViewEvent>(
    `SELECT ${EVENT_ENVELOPE_COLUMNS} FROM order_events WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, seq`,
    [ids],
  );
  const byOrder = Map.groupBy(events.rows, (e) => e.order_id);
  const views = [...byOrder.values()].map((list) => fold(list)).filter((v): v is OrderView => v !== undefined);
  if (views.length > 0) await writeViews(db, table, views);
  return views.length;
}

/**
 * Makes the rebuilt table the live one, atomically: writers (the projector) are held off while the
 * rebuilt table catches up with events that arrived during the rebuild and the names are swapped;
 * readers keep reading the old table until the commit, then the new one.
 */
export async function switchOver(pool: Pool, table: string): Promise<{ caughtUp: number }> {
  return withTransaction(pool, async (tx) => {
    await tx.query('LOCK TABLE order_view IN EXCLUSIVE MODE');
    const caughtUp = await catchUp(tx, table);
    const retired = `order_view_retired_${Date.now().toString(36)}`;
    await tx.query(`ALTER TABLE order_view RENAME TO ${retired}`);
    await tx.query(`ALTER TABLE ${table} RENAME TO order_view`);
    await tx.query(`DROP TABLE ${retired}`);
    return { caughtUp };
  });
}

export interface ViewDifference {
  readonly order_id: string;
  readonly problem: 'missing' | 'unexpected' | 'different';
  readonly live?: OrderView;
  readonly expected?: OrderView;
}

/**
 * Compares the live view with one folded aside from the event log. An order the live projector has
 * taken further since the fold began is folded again to the live version first, so only real
 * differences are reported (a row edited by hand, a projection bug).
 */
export async function compareWithLive(pool: Pool, table: string): Promise<ViewDifference[]> {
  const live = await pool.query<{ order_id: string; doc: OrderView; version: number }>(
    'SELECT order_id, version, doc FROM order_view',
  );
  const aside = await pool.query<{ order_id: string; doc: OrderView }>(`SELECT order_id, doc FROM ${table}`);
  const expected = new Map(aside.rows.map((r) => [r.order_id, r.doc]));
  const differences: ViewDifference[] = [];
  for (const row of live.rows) {
    let want = expected.get(row.order_id);
    expected.delete(row.order_id);
    if (want === undefined || want.version !== row.version) {
      const events = await pool.query<OrderViewEvent>(
        `SELECT ${EVENT_ENVELOPE_COLUMNS} FROM order_events WHERE order_id = $1 AND seq <= $2 ORDER BY seq`,
        [row.order_id, row.version],
      );
      want = fold(events.rows);
    }
    if (want === undefined) differences.push({ order_id: row.order_id, problem: 'unexpected', live: row.doc });
    else if (JSON.stringify(canonical(want)) !== JSON.stringify(canonical(row.doc))) {
      differences.push({ order_id: row.order_id, problem: 'different', live: row.doc, expected: want });
    }
  }
  for (const [orderId, doc] of expected) differences.push({ order_id: orderId, problem: 'missing', expected: doc });
  return differences;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}

/** The order as it was at a moment: its events up to then, folded. Undefined before it was placed. */
export async function orderAsOf(db: Queryable, orderId: string, at: Date): Promise<OrderView | undefined> {
  const events = await db.query<OrderViewEvent>(
    `SELECT ${EVENT_ENVELOPE_COLUMNS} FROM order_events WHERE order_id = $1 AND occurred_at <= $2 ORDER BY seq`,
    [orderId, at],
  );
  return fold(events.rows);
}
