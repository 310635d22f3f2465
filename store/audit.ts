import { withTransaction, type Pool, type Queryable } from '../platform/db.js';
import { uuidv7 } from '../platform/ids.js';

/**
 * The event log's proofs (migration 0017): each order's hash chain, recomputed with the database's own
 * `order_event_hash`, and daily anchors — the SHA-256 over the hashes of every event of a UTC day in
 * event id order — kept in `audit_anchors` and published on `order-events` (aggregate `audit`), so a
 * copy outside this database can show that history was not rewritten, chains and all.
 */

export type BrokenLinkKind = 'altered' | 'removed before' | 'link broken' | 'unchained' | 'removed at the end';

export interface BrokenLink {
  readonly orderId: string;
  readonly seq: number;
  readonly eventId: string | null;
  readonly kind: BrokenLinkKind;
  readonly detail: string;
}

export interface ChainPage {
  readonly orders: number;
  readonly events: number;
  readonly broken: readonly BrokenLink[];
  /** The last order of the page: the next page starts after it (undefined: no more). */
  readonly lastOrderId: string | undefined;
}

const GENESIS = '\\x0000000000000000000000000000000000000000000000000000000000000000';

/**
 * Checks the chains of up to `pageSize` orders after `afterOrderId` (all orders, or only `orderId`;
 * orders created since `since`; orders before `beforeOrderId`, so a month's orders alone): each event's hash recomputed, each link to its predecessor, no seq
 * missing, and no event missing at the end (the order's version names its last seq).
 */
export async function verifyChainPage(
  db: Queryable,
  options: { afterOrderId: string; pageSize: number; orderId?: string; since?: Date; beforeOrderId?: string },
): Promise<ChainPage> {
  const { rows } = await db.query<{
    order_id: string;
    seq: number;
    event_id: string;
    intact: boolean;
    unchained: boolean;
    previous_seq: number | null;
    linked: boolean;
    last_in_order: boolean;
    version: number | null;
  }>(
    `WITH page AS (
       SELECT DISTINCT order_id FROM order_events
        WHERE order_id > $1::uuid AND ($2::uuid IS NULL OR order_id = $2) AND ($3::timestamptz IS NULL OR uuid7_time(order_id) >= $3)
          AND ($5::uuid IS NULL OR order_id < $5)
        ORDER BY order_id LIMIT $4
     ), chained AS (
       SELECT e.order_id, e.seq, e.event_id,
              e.hash IS NOT DISTINCT FROM order_event_hash(coalesce(e.prev_hash, '\\x'::bytea), e.event_id, e.order_id, e.seq, e.type, e.payload, e.occurred_at) AS intact,
              e.prev_hash IS NULL AS unchained,
              lag(e.seq) OVER w AS previous_seq,
              CASE WHEN e.seq = 1 THEN e.prev_hash IS NOT DISTINCT FROM '${GENESIS}'::bytea
                   ELSE e.prev_hash IS NOT DISTINCT FROM lag(e.hash) OVER w END AS linked,
              lead(e.seq) OVER w IS NULL AS last_in_order
         FROM order_events e JOIN page USING (order_id)
       WINDOW w AS (PARTITION BY e.order_id ORDER BY e.seq)
     )
     SELECT c.*, o.version FROM chained c LEFT JOIN orders o ON o.order_id = c.order_id AND c.last_in_order
      ORDER BY c.order_id, c.seq`,
    [options.afterOrderId, options.orderId ?? null, options.since ?? null, options.pageSize, options.beforeOrderId ?? null],
  );
  const broken: BrokenLink[] = [];
  const orders = new Set<string>();
  for (const r of rows) {
    orders.add(r.order_id);
    const expectedPrevious = r.seq - 1;
    if ((r.previous_seq ?? 0) !== expectedPrevious)
      broken.push({
        orderId: r.order_id,
        seq: r.seq,
        eventId: r.event_id,
        kind: 'removed before',
        detail: `event(s) ${(r.previous_seq ?? 0) + 1}..${expectedPrevious} missing before seq ${r.seq}`,
      });
    else if (r.unchained && r.seq > 1)
      broken.push({
        orderId: r.order_id,
        seq: r.seq,
        eventId: r.event_id,
        kind: 'unchained',
        detail: 'written without a link to its predecessor',
      });
    else if (!r.linked)
      broken.push({
        orderId: r.order_id,
        seq: r.seq,
        eventId: r.event_id,
        kind: 'link broken',
        detail: `its prev_hash is not the hash of event ${expectedPrevious}`,
      });
    if (!r.intact)
      broken.push({
        orderId: r.order_id,
        seq: r.seq,
        eventId: r.event_id,
        kind: 'altered',
        detail: 'its content no longer matches its hash (type, payload, time, seq or ids changed)',
      });
    if (r.last_in_order && r.version !== null && r.version > r.seq)
      broken.push({
        orderId: r.order_id,
        seq: r.seq + 1,
        eventId: null,
        kind: 'removed at the end',
        detail: `the order is at version ${r.version} but its history ends at seq ${r.seq}`,
      });
  }
  const ids = [...orders];
  return { orders: ids.length, events: rows.length, broken, lastOrderId: ids.length === 0 ? undefined : ids[ids.length - 1] };
}

export interface DayAnchor {
  readonly day: string;
  readonly events: number;
  /** Hex SHA-256 over the day's event hashes in event id order. */
  readonly hash: string;
}

/** The anchor of a UTC day (YYYY-MM-DD) as the event log stands now. */
export async function computeAnchor(db: Queryable, day: string): Promise<DayAnchor> {
  const { rows } = await db.query<{ events: number; hash: string | null }>(
    `SELECT count(*)::int AS events, encode(sha256(coalesce(string_agg(hash, ''::bytea ORDER BY event_id), ''::bytea)), 'hex') AS hash
       FROM order_events WHERE occurred_at >= $1::date AND occurred_at < $1::date + 1`,
    [day],
  );
  return { day, events: rows[0]?.events ?? 0, hash: rows[0]?.hash ?? '' };
}

/**
 * Anchors a day: stores it (once; an anchor never changes) and publishes it on the outbox as an
 * `audit.anchor` event of aggregate `audit`, in one transaction. Answers the stored anchor and whether
 * this call made it.
 */
export async function anchorDay(pool: Pool, day: string): Promise<{ anchor: DayAnchor; created: boolean }> {
  return withTransaction(pool, async (tx) => {
    // An anchor never changes: a day anchored already is answered without hashing the day again.
    const [stored] = await storedAnchors(tx, day);
    if (stored !== undefined) return { anchor: stored, created: false };
    const anchor = await computeAnchor(tx, day);
    const inserted = await tx.query(
      `INSERT INTO audit_anchors (day, events, hash) VALUES ($1::date, $2, decode($3, 'hex')) ON CONFLICT (day) DO NOTHING`,
      [day, anchor.events, anchor.hash],
    );
    // Another process anchored it meanwhile: its anchor stands.
    if ((inserted.rowCount ?? 0) === 0) return { anchor: (await storedAnchors(tx, day))[0] ?? anchor, created: false };
    const eventId = uuidv7();
    await tx.query(
      `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES ($1, 'audit', $2, 'audit.anchor', $3)`,
      [
        eventId,
        day,
        JSON.stringify({ event_id: eventId, type: 'audit.anchor', ...anchor, occurred_at: new Date().toISOString() }),
      ],
    );
    return { anchor, created: true };
  });
}

export async function storedAnchors(db: Queryable, day?: string): Promise<DayAnchor[]> {
  const { rows } = await db.query<{ day: string; events: number; hash: string }>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, events, encode(hash, 'hex') AS hash FROM audit_anchors
      WHERE $1::date IS NULL OR day = $1::date ORDER BY day`,
    [day ?? null],
  );
  return rows;
}

/** The UTC days before `today` that have events and no anchor yet, oldest first. */
export async function unanchoredDays(db: Queryable, today: string): Promise<string[]> {
  const { rows } = await db.query<{ day: string }>(
    `SELECT to_char(d, 'YYYY-MM-DD') AS day
       FROM (SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date AS d FROM order_events
              WHERE occurred_at < $1::date
                AND occurred_at >= coalesce((SELECT max(day) + 1 FROM audit_anchors), '-infinity'::date)) days
      ORDER BY d`,
    [today],
  );
  return rows.map((r) => r.day);
}
