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
  readonly payload: Record<string, unknown>;
  readonly tx_id: string;
}

/**
 * The next rows after `after` (or from it, when inclusive), in (tx_id, id) order, from transactions
 * older than every transaction still running: a transaction still open may yet commit rows with a
 * smaller tx_id, so rows at or above the snapshot's xmin wait (docs/decisions/0002).
 */
export async function readOutbox(db: Queryable, after: OutboxPosition, limit: number, inclusive = false): Promise<OutboxRow[]> {
  const result = await db.query<OutboxRow>(
    `SELECT id, aggregatetype, aggregateid, type, payload, tx_id::text AS tx_id
       FROM outbox
      WHERE (tx_id, id) ${inclusive ? '>=' : '>'} ($1::xid8, $2::uuid)
        AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY tx_id, id
      LIMIT $3`,
    [after.txId, after.id, limit],
  );
  return result.rows;
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

export async function saveCheckpoint(db: Queryable, sink: string, position: OutboxPosition): Promise<void> {
  await db.query('UPDATE relay_checkpoints SET tx_id = $2::xid8, id = $3, updated_at = now() WHERE sink = $1', [
    sink,
    position.txId,
    position.id,
  ]);
}

export async function saveAckedFloor(db: Queryable, sink: string, floor: OutboxPosition): Promise<void> {
  await db.query('UPDATE relay_checkpoints SET acked_tx_id = $2::xid8, acked_id = $3, updated_at = now() WHERE sink = $1', [
    sink,
    floor.txId,
    floor.id,
  ]);
}
