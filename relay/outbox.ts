import type { Queryable } from '../platform/db.js';

/** A position in the outbox: the writing transaction, then the row id. */
export interface OutboxPosition {
  readonly txId: string;
  readonly id: string;
}

export const OUTBOX_START: OutboxPosition = Object.freeze({ txId: '0', id: '00000000-0000-0000-0000-000000000000' });

export interface OutboxRow {
  readonly id: string;
  readonly aggregatetype: string;
  readonly aggregateid: string;
  readonly type: string;
  /** The event envelope as the JSON text stored: published as it is, never parsed here. */
  readonly payload: string;
  /** The envelope's `seq` (the event's place in its order's history). */
  readonly seq: number;
  readonly tx_id: string;
  /** The envelope's metadata ids, for the Kafka headers and the stream fields (null: an event without them). */
  readonly correlation_id?: string | null;
  readonly traceparent?: string | null;
}

/** The outbox columns of an OutboxRow, for a SELECT from `outbox` (aliased `o`). */
export const OUTBOX_ROW_COLUMNS =
  "o.id, o.aggregatetype, o.aggregateid, o.type, o.payload::text AS payload, coalesce((o.payload->>'seq')::int, 0) AS seq, o.tx_id::text AS tx_id, " +
  "o.payload->'metadata'->>'correlation_id' AS correlation_id, o.payload->'metadata'->>'traceparent' AS traceparent";

/** The row's own columns, from a result row that carries more (the snapshot's). */
function outboxRowOf(r: OutboxRow): OutboxRow {
  return {
    id: r.id,
    aggregatetype: r.aggregatetype,
    aggregateid: r.aggregateid,
    type: r.type,
    payload: r.payload,
    seq: r.seq,
    tx_id: r.tx_id,
    correlation_id: r.correlation_id ?? null,
    traceparent: r.traceparent ?? null,
  };
}

/** The next rows after the cursor ($1, $2) below the snapshot's xmin (`s.xmin`), up to $3, in position order. */
const IN_ORDER_BELOW_HORIZON = `SELECT * FROM outbox
          WHERE (tx_id, id) > ($1::xid8, $2::uuid) AND tx_id < s.xmin
          ORDER BY tx_id, id
          LIMIT $3`;

/** One read of the outbox, with the snapshot it saw (see Relay: when an idle relay may sleep). */
export interface OutboxRead {
  readonly rows: OutboxRow[];
  /** Every transaction below this had ended when the read ran (rows below it are all visible). */
  readonly xmin: bigint;
  /** The next transaction id to be assigned when the read ran: every xid below it existed by then. */
  readonly xmax: bigint;
}

/**
 * The next rows after `after`, in (tx_id, id) order, from transactions older than every transaction
 * still running: a transaction still open may yet commit rows with a smaller tx_id, so rows at or
 * above the snapshot's xmin wait (docs/decisions/0002). The read's snapshot bounds come in the same
 * round trip (one row even when the outbox has nothing to give).
 */
export async function readOutbox(db: Queryable, after: OutboxPosition, limit: number): Promise<OutboxRead> {
  const result = await db.query<OutboxRow & { snapshot_xmin: string; snapshot_xmax: string; id: string | null }>(
    `SELECT s.xmin::text AS snapshot_xmin, s.xmax::text AS snapshot_xmax,
            ${OUTBOX_ROW_COLUMNS}
       FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin, pg_snapshot_xmax(pg_current_snapshot()) AS xmax) s
       LEFT JOIN LATERAL (
         ${IN_ORDER_BELOW_HORIZON}) o ON true`,
    [after.txId, after.id, limit],
  );
  const first = result.rows[0];
  if (first === undefined) throw new Error('outbox read returned no snapshot row');
  const rows: OutboxRow[] = [];
  for (const r of result.rows) {
    if (r.id === null) continue;
    rows.push(outboxRowOf({ ...r, id: r.id }));
  }
  return { rows, xmin: BigInt(first.snapshot_xmin), xmax: BigInt(first.snapshot_xmax) };
}

/** Where the previous read stood: the transactions running then (xip) and the first xid not yet begun (xmax). */
export interface ReadSnapshot {
  readonly xip: readonly string[];
  readonly xmax: string;
}

/** A read of the outbox and, beyond its horizon, the rows committed since the previous read. */
export interface OutboxReadAhead extends OutboxRead {
  /**
   * Rows at or above the read's xmin (an older transaction still runs, so they cannot be read in
   * position order yet) from transactions that committed after `since` (every such row when `since`
   * is undefined), in (tx_id, id) order, up to the limit.
   */
  readonly ahead: OutboxRow[];
  readonly snapshot: ReadSnapshot;
}

/**
 * readOutbox and, in the same statement and snapshot, the rows ahead of the horizon that became
 * visible since `since`: a transaction commits, its rows are visible, but an older transaction (a
 * slow worker's) holds the horizon. Rows of transactions that were running at `since` (its xip) or
 * began after it (xid >= its xmax) are exactly those that committed since (docs/decisions/0011).
 */
export async function readOutboxAhead(
  db: Queryable,
  after: OutboxPosition,
  limit: number,
  since: ReadSnapshot | undefined,
): Promise<OutboxReadAhead> {
  const result = await db.query<
    OutboxRow & { snapshot_xmin: string; snapshot_xmax: string; snapshot_xip: string[]; id: string | null; ahead: boolean | null }
  >(
    `SELECT s.xmin::text AS snapshot_xmin, s.xmax::text AS snapshot_xmax, s.xip AS snapshot_xip,
            o.ahead, ${OUTBOX_ROW_COLUMNS}
       FROM (SELECT pg_snapshot_xmin(c.snap) AS xmin, pg_snapshot_xmax(c.snap) AS xmax,
                    ARRAY(SELECT x::text FROM pg_snapshot_xip(c.snap) AS x) AS xip
               FROM (SELECT pg_current_snapshot() AS snap) c) s
       LEFT JOIN LATERAL (
         (SELECT false AS ahead, r.* FROM (${IN_ORDER_BELOW_HORIZON}) r)
         UNION ALL
         (SELECT true AS ahead, *
            FROM outbox
           WHERE (tx_id, id) > ($1::xid8, $2::uuid) AND tx_id >= s.xmin
             AND ($4::xid8 IS NULL OR tx_id >= $4::xid8 OR tx_id = ANY($5::xid8[]))
           ORDER BY tx_id, id
           LIMIT $3)) o ON true`,
    [after.txId, after.id, limit, since?.xmax ?? null, since?.xip ?? []],
  );
  const first = result.rows[0];
  if (first === undefined) throw new Error('outbox read returned no snapshot row');
  const rows: OutboxRow[] = [];
  const ahead: OutboxRow[] = [];
  for (const r of result.rows) {
    if (r.id === null) continue;
    (r.ahead === true ? ahead : rows).push(outboxRowOf({ ...r, id: r.id }));
  }
  return {
    rows,
    ahead,
    xmin: BigInt(first.snapshot_xmin),
    xmax: BigInt(first.snapshot_xmax),
    snapshot: { xip: first.snapshot_xip, xmax: first.snapshot_xmax },
  };
}

/**
 * The rows with each order's events in `seq` order, each order keeping the places its rows had. Rows
 * ahead of the horizon are in xid order, and a transaction that got its xid before it waited for the
 * order's lock holds a later event under an earlier xid.
 */
export function inOrderSequence(rows: readonly OutboxRow[]): OutboxRow[] {
  const places = new Map<string, number[]>();
  rows.forEach((row, index) => {
    const list = places.get(row.aggregateid);
    if (list === undefined) places.set(row.aggregateid, [index]);
    else list.push(index);
  });
  const sorted = [...rows];
  for (const indices of places.values()) {
    if (indices.length < 2) continue;
    const own = indices.map((i) => rows[i] as OutboxRow).sort((a, b) => a.seq - b.seq);
    indices.forEach((place, k) => (sorted[place] = own[k] as OutboxRow));
  }
  return sorted;
}

/**
 * The position just before every row of `position`'s transaction: reading after it re-reads that
 * whole transaction (no row has the nil uuid), so a rewind to it needs no "inclusive" flag and is safe
 * to store as a checkpoint.
 */
export function startOfTransaction(position: OutboxPosition): OutboxPosition {
  return { txId: position.txId, id: OUTBOX_START.id };
}

export function positionOf(row: Pick<OutboxRow, 'tx_id' | 'id'>): OutboxPosition {
  return { txId: row.tx_id, id: row.id };
}

export function formatPosition(position: OutboxPosition): string {
  return `${position.txId}/${position.id}`;
}

export function parsePosition(text: string): OutboxPosition {
  const [txId, id] = text.split('/');
  if (txId === undefined || id === undefined || !/^\d+$/.test(txId)) throw new Error(`not an outbox position: ${text}`);
  return { txId, id };
}

/** Orders positions as the outbox does: by transaction id (as a big integer), then by row id. */
export function comparePositions(a: OutboxPosition, b: OutboxPosition): number {
  const ta = BigInt(a.txId);
  const tb = BigInt(b.txId);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export interface Checkpoint {
  readonly position: OutboxPosition;
  /** Redis sink only: the oldest position some consumer group had not acknowledged, when last measured. */
  readonly ackedFloor: OutboxPosition | null;
}

export async function loadCheckpoint(db: Queryable, sink: string): Promise<Checkpoint> {
  await db.query('INSERT INTO relay_checkpoints (sink) VALUES ($1) ON CONFLICT DO NOTHING', [sink]);
  const result = await db.query<{ tx_id: string; id: string; acked_tx_id: string | null; acked_id: string | null }>(
    'SELECT tx_id::text, id, acked_tx_id::text, acked_id FROM relay_checkpoints WHERE sink = $1',
    [sink],
  );
  const row = result.rows[0];
  if (row === undefined) throw new Error(`checkpoint ${sink} vanished`);
  return {
    position: { txId: row.tx_id, id: row.id },
    ackedFloor: row.acked_tx_id !== null && row.acked_id !== null ? { txId: row.acked_tx_id, id: row.acked_id } : null,
  };
}

/** Writes several sinks' checkpoints in one statement. */
export async function saveCheckpoints(
  db: Queryable,
  positions: ReadonlyArray<{ sink: string; position: OutboxPosition }>,
): Promise<void> {
  if (positions.length === 0) return;
  await db.query(
    `UPDATE relay_checkpoints c SET tx_id = p.tx_id::xid8, id = p.id, updated_at = now()
       FROM unnest($1::text[], $2::text[], $3::uuid[]) AS p(sink, tx_id, id)
      WHERE c.sink = p.sink`,
    [positions.map((p) => p.sink), positions.map((p) => p.position.txId), positions.map((p) => p.position.id)],
  );
}

/** Arms (or disarms) the outbox trigger's NOTIFY: only a relay about to sleep needs to be woken. */
export async function setRelayListening(db: Queryable, listening: boolean): Promise<void> {
  await db.query('UPDATE relay_wakeup SET listening = $1, updated_at = now() WHERE listening IS DISTINCT FROM $1', [listening]);
}

export async function saveAckedFloor(db: Queryable, sink: string, floor: OutboxPosition): Promise<void> {
  await db.query('UPDATE relay_checkpoints SET acked_tx_id = $2::xid8, acked_id = $3, updated_at = now() WHERE sink = $1', [
    sink,
    floor.txId,
    floor.id,
  ]);
}

/**
 * Where the relay had published up to, and when: a row below a position published at time T was
 * written before T, so the outbox rows older than a retention lie below the newest mark at least that
 * old. The pruner deletes below that mark (and the acknowledged floor) instead of testing every row's
 * age, which read every row still kept on each prune.
 */
export class PublishedMarks {
  private readonly marks: Array<{ readonly at: number; readonly position: OutboxPosition }> = [];

  /** Publication had reached `position` at time `at` (milliseconds, non-decreasing). */
  note(at: number, position: OutboxPosition): void {
    const last = this.marks.at(-1);
    if (last !== undefined && comparePositions(last.position, position) === 0) return;
    this.marks.push({ at, position });
  }

  /** The newest mark made at or before `at`, forgetting the marks older than it; undefined if none is that old. */
  through(at: number): OutboxPosition | undefined {
    const newest = this.marks.findLastIndex((mark) => mark.at <= at);
    if (newest < 0) return undefined;
    this.marks.splice(0, newest);
    return this.marks[0]?.position;
  }
}
