import { createHash } from 'node:crypto';
import { orderIdRange, type ArchiveManifest, type ChainSummary, type Month } from '../domain/archiveMonths.js';
import type { Queryable } from '../platform/db.js';

/**
 * The SQL of archiving a month (npm run archive, docs/internals.md "Retention and archives"): which
 * rows a month holds, table by table, read in key order as one JSON text per row (jsonb's own text of the
 * row: the same row always gives the same line, so a SHA-256 over the lines proves rows identical), the
 * month's chain summary, and the record of archived months the read API consults.
 *
 * A month is its orders' partition, its events' partition, and the rows of the order tables that belong
 * to those orders. The order funnel (analytics: its figures stay), carts, webhook deliveries and dead
 * letters (operational) stay in the database.
 */

export interface ArchivedTableSpec {
  readonly table: string;
  /** Rows of the month: a FROM item and a WHERE condition over `$1` (first order id) and `$2` (past the last). */
  readonly from: (month: Month) => string;
  readonly where: string;
  /** The key the rows are read in (and hashed in). */
  readonly orderBy: string;
}

const BY_ORDER = 'order_id >= $1::uuid AND order_id < $2::uuid';

/**
 * Every table of a month, parents before children: restored in this order, removed in the reverse one
 * (the foreign keys: order_items → orders; shipment_items and reservations → order_items, shipments;
 * captures → payments, shipments; refunds → payments; invoices → captures, refunds).
 */
export const ARCHIVED_TABLES: readonly ArchivedTableSpec[] = Object.freeze([
  // Through the parents: a month's rows are in its own partitions, or in the default ones when the month never had any.
  { table: 'orders', from: () => 'orders', where: BY_ORDER, orderBy: 'order_id' },
  { table: 'order_events', from: () => 'order_events', where: BY_ORDER, orderBy: 'order_id, seq' },
  { table: 'order_external_refs', from: () => 'order_external_refs', where: BY_ORDER, orderBy: 'channel, external_order_id' },
  { table: 'order_items', from: () => 'order_items', where: BY_ORDER, orderBy: 'item_id' },
  { table: 'sagas', from: () => 'sagas', where: BY_ORDER, orderBy: 'saga_id' },
  { table: 'payments', from: () => 'payments', where: BY_ORDER, orderBy: 'payment_id' },
  { table: 'shipments', from: () => 'shipments', where: BY_ORDER, orderBy: 'shipment_id' },
  {
    table: 'shipment_items',
    from: () => 'shipment_items',
    where: `shipment_id IN (SELECT shipment_id FROM shipments WHERE ${BY_ORDER})`,
    orderBy: 'shipment_id, item_id',
  },
  { table: 'reservations', from: () => 'reservations', where: BY_ORDER, orderBy: 'reservation_id' },
  { table: 'captures', from: () => 'captures', where: BY_ORDER, orderBy: 'capture_id' },
  { table: 'refunds', from: () => 'refunds', where: BY_ORDER, orderBy: 'refund_id' },
  { table: 'invoices', from: () => 'invoices', where: BY_ORDER, orderBy: 'invoice_id' },
  { table: 'order_view', from: () => 'order_view', where: BY_ORDER, orderBy: 'order_id' },
]);

/** The statement reading a table's rows of a month as JSON lines, in key order (for a cursor). */
export function monthRowsQuery(spec: ArchivedTableSpec, month: Month, options: { lock?: boolean } = {}): string {
  const lock = options.lock === true ? ' FOR UPDATE' : '';
  return `SELECT to_jsonb(t)::text AS line FROM ${spec.from(month)} t WHERE ${spec.where} ORDER BY ${spec.orderBy}${lock}`;
}

export function monthParams(month: Month): [string, string] {
  const { from, to } = orderIdRange(month);
  return [from, to];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Reads a statement's rows through a cursor, `pageSize` at a time, inside the caller's transaction:
 * a month of rows never sits in memory at once. DECLARE takes no bind parameters, so the month's bounds
 * (ids this module computes, checked to be UUIDs) are written into the statement.
 */
export async function* cursorLines(
  tx: Queryable,
  statement: string,
  params: readonly string[],
  pageSize = 5_000,
): AsyncGenerator<string[]> {
  const inlined = statement.replace(/\$(\d+)/g, (_, n: string) => {
    const value = params[Number(n) - 1];
    if (value === undefined || !UUID.test(value)) throw new Error(`cursorLines: $${n} is not a UUID`);
    return `'${value}'`;
  });
  const name = `archive_${createHash('sha256').update(statement).digest('hex').slice(0, 12)}`;
  await tx.query(`DECLARE ${name} NO SCROLL CURSOR FOR ${inlined}`);
  try {
    for (;;) {
      const { rows } = await tx.query<{ line: string }>(`FETCH ${pageSize} FROM ${name}`);
      if (rows.length === 0) return;
      yield rows.map((r) => r.line);
    }
  } finally {
    await tx.query(`CLOSE ${name}`);
  }
}

/** A month's rows of one table as they are: row count and the SHA-256 of its lines (each ending in \n). */
export async function digestMonthRows(
  tx: Queryable,
  spec: ArchivedTableSpec,
  month: Month,
  options: { lock?: boolean } = {},
): Promise<{ rows: number; contentSha256: string }> {
  const hash = createHash('sha256');
  let rows = 0;
  for await (const lines of cursorLines(tx, monthRowsQuery(spec, month, options), monthParams(month))) {
    for (const line of lines) hash.update(`${line}\n`);
    rows += lines.length;
  }
  return { rows, contentSha256: hash.digest('hex') };
}

/** The chain summary of the events of a month's orders, as the database holds them. */
export async function monthChainSummary(tx: Queryable, month: Month): Promise<ChainSummary> {
  const { rows } = await tx.query<{ orders: number; events: number; events_sha256: string; heads_sha256: string }>(
    `SELECT count(DISTINCT order_id)::int AS orders, count(*)::int AS events,
            encode(sha256(coalesce(string_agg(hash, ''::bytea ORDER BY order_id, seq), ''::bytea)), 'hex') AS events_sha256,
            encode(sha256(coalesce(string_agg(hash, ''::bytea ORDER BY order_id, seq) FILTER (WHERE last), ''::bytea)), 'hex') AS heads_sha256
       FROM (SELECT order_id, seq, coalesce(hash, ''::bytea) AS hash,
                    seq = max(seq) OVER (PARTITION BY order_id) AS last
               FROM order_events WHERE order_id >= $1::uuid AND order_id < $2::uuid) e`,
    monthParams(month),
  );
  const r = rows[0];
  return {
    orders: r?.orders ?? 0,
    events: r?.events ?? 0,
    eventsSha256: r?.events_sha256 ?? '',
    headsSha256: r?.heads_sha256 ?? '',
  };
}

/** The UTC days a month's events happened on, with their counts. */
export async function monthEventDays(tx: Queryable, month: Month): Promise<{ day: string; events: number }[]> {
  const { rows } = await tx.query<{ day: string; events: number }>(
    `SELECT to_char((occurred_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day, count(*)::int AS events
       FROM order_events WHERE order_id >= $1::uuid AND order_id < $2::uuid GROUP BY 1 ORDER BY 1`,
    monthParams(month),
  );
  return rows;
}

/**
 * The months with orders before `before`: those whose orders have a partition of their own (attached),
 * and those whose orders sit in `orders_default` (a month that never had a partition), oldest first.
 */
export async function monthsWithOrders(db: Queryable, before: Date): Promise<string[]> {
  const { rows } = await db.query<{ month: string }>(
    `SELECT substr(c.relname, 9, 4) || '-' || substr(c.relname, 14, 2) AS month
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'orders'::regclass AND c.relname ~ '^orders_y[0-9]{4}m[0-9]{2}$'
     UNION
     SELECT DISTINCT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM') FROM orders_default WHERE created_at < $1
     ORDER BY 1`,
    [before],
  );
  return rows.map((r) => r.month);
}

/** Whether a table of that name exists in the schema (attached or not). */
export async function tableExists(db: Queryable, name: string): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>(
    `SELECT to_regclass(quote_ident(current_schema()) || '.' || $1) IS NOT NULL AS found`,
    [name],
  );
  return rows[0]?.found === true;
}

/** An archived month as the database records it. */
export interface ArchivedMonth {
  readonly month: string;
  readonly location: string;
  readonly archivedAt: string;
}

/** The record of the month an order id belongs to, if that month is archived (the read API's answer). */
export async function archivedMonthOfOrder(db: Queryable, orderId: string): Promise<ArchivedMonth | undefined> {
  const { rows } = await db.query<{ month: string; location: string; archived_at: string }>(
    `SELECT to_char(month, 'YYYY-MM') AS month, location,
            to_char(archived_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS archived_at
       FROM archived_months WHERE month = date_trunc('month', uuid7_time($1::uuid) AT TIME ZONE 'UTC')::date`,
    [orderId],
  );
  const r = rows[0];
  return r === undefined ? undefined : { month: r.month, location: r.location, archivedAt: r.archived_at };
}

export async function archivedMonths(db: Queryable): Promise<(ArchivedMonth & { manifest: ArchiveManifest })[]> {
  const { rows } = await db.query<{ month: string; location: string; archived_at: string; manifest: ArchiveManifest }>(
    `SELECT to_char(month, 'YYYY-MM') AS month, location, manifest,
            to_char(archived_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS archived_at
       FROM archived_months ORDER BY month`,
  );
  return rows.map((r) => ({ month: r.month, location: r.location, archivedAt: r.archived_at, manifest: r.manifest }));
}
