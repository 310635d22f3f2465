import type { Queryable } from '../../../platform/db.js';
import { canonicalUuid, isUuid, isUuidv7, uuidv7Time } from '../../../platform/ids.js';
import { isMoment } from '../../../platform/moments.js';
import type { orderSummary, ReadModel, storedOrderEvent } from '../../schemas.js';

/** occurred_at as event envelopes carry it: ISO 8601, UTC, milliseconds. */
const OCCURRED_AT_ISO = `to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at`;

/** The columns of order_events that make an event envelope (domain/events EventEnvelope). */
export const EVENT_ENVELOPE_COLUMNS = `event_id, order_id, seq, type, payload, ${OCCURRED_AT_ISO}`;

/** How recent an order id must be for a missing or early view to be waited for: it may not be projected yet. */
const NEW_ORDER_WINDOW_MS = 10_000;
/** How far ahead of this clock another process's may run: an id minted there is still new here. */
const CLOCK_SKEW_MS = 1_000;

/**
 * Whether the order was placed so recently (its UUIDv7 time says) that the projector may still be
 * behind. Only a UUIDv7 minted in the last seconds qualifies: any other id (a v4, a v7 from the future)
 * is no order of ours in flight, and its 404 is answered at once rather than after the 2 s wait.
 */
export function isNewOrder(orderId: string, now: number = Date.now()): boolean {
  if (!isUuidv7(orderId)) return false;
  const age = now - uuidv7Time(orderId).getTime();
  return age > -CLOCK_SKEW_MS && age < NEW_ORDER_WINDOW_MS;
}

/** The stored view as JSON text with its version: the hot read path sends it without parsing it. */
export interface StoredView {
  readonly version: number;
  readonly json: string;
  /** The order's channel: a channel's key sees only its own (contract §8). */
  readonly channel: string | null;
}

export async function findOrderView(db: Queryable, orderId: string): Promise<StoredView | undefined> {
  const result = await db.query<StoredView>(
    `SELECT version, doc::text AS json, doc->>'channel' AS channel FROM order_view WHERE order_id = $1`,
    [orderId],
  );
  return result.rows[0];
}

/**
 * The channel an order was placed in, from its first event (order.placed) in the event log, so it is
 * known before the projection has caught up; undefined for no such order.
 */
export async function orderChannel(db: Queryable, orderId: string): Promise<string | undefined> {
  const result = await db.query<{ channel: string | null }>(
    `SELECT payload->>'channel' AS channel FROM order_events WHERE order_id = $1 ORDER BY seq LIMIT 1`,
    [orderId],
  );
  const row = result.rows[0];
  return row === undefined ? undefined : (row.channel ?? undefined);
}

/** A line of a listing (GET /api/v1/orders, a customer's orders): its schema is query-service/schemas.ts's. */
export type OrderSummary = ReadModel<typeof orderSummary>;

/** Where a page ends: the last row's sort key. Opaque to clients (base64url JSON). */
export interface PageCursor {
  readonly created_at: string;
  readonly order_id: string;
}

export function encodeCursor(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.created_at, cursor.order_id])).toString('base64url');
}

/** A cursor's time exactly as listOrderSummaries writes it (microseconds, UTC). */
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/**
 * The position a cursor names, or undefined for anything this API did not give out: the exact shape
 * encodeCursor writes, a time PostgreSQL takes and a canonical UUID, so a tampered cursor is a 400
 * rather than a query PostgreSQL refuses.
 */
export function decodeCursor(text: string): PageCursor | undefined {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) return undefined;
  const [createdAt, orderId] = decoded as unknown[];
  if (typeof createdAt !== 'string' || !CURSOR_TIME.test(createdAt) || !isMoment(createdAt)) return undefined;
  if (typeof orderId !== 'string' || !isUuid(orderId)) return undefined;
  return { created_at: createdAt, order_id: canonicalUuid(orderId) };
}

/**
 * Orders newest first, keyset-paginated on (created_at, order_id): a page never repeats or skips an
 * order, however many orders arrive meanwhile (new ones sort before the cursor).
 */
export async function listOrderSummaries(
  db: Queryable,
  filter: { customerId?: string; status?: string; channel?: string },
  limit: number,
  after?: PageCursor,
): Promise<{ orders: OrderSummary[]; next: PageCursor | undefined }> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.customerId !== undefined) {
    params.push(filter.customerId);
    where.push(`customer_id = $${params.length}`);
  }
  if (filter.status !== undefined) {
    params.push(filter.status);
    where.push(`status = $${params.length}`);
  }
  // A channel's key lists only its channel's orders: a filter on the newest-first walk (no index of its
  // own, which would make every projector update of the document a non-HOT update).
  if (filter.channel !== undefined) {
    params.push(filter.channel);
    where.push(`doc->>'channel' = $${params.length}`);
  }
  if (after !== undefined) {
    params.push(after.created_at, after.order_id);
    where.push(`(created_at, order_id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(limit + 1);
  const result = await db.query<OrderSummary & { cursor_at: string }>(
    `SELECT order_id, status, version, customer_id, doc->>'channel' AS channel, doc->>'currency' AS currency,
            (doc->>'total_amount')::bigint AS total_amount, doc->>'created_at' AS created_at, doc->>'updated_at' AS updated_at,
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
       FROM order_view ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at DESC, order_id DESC
      LIMIT $${params.length}`,
    params,
  );
  const rows = result.rows.slice(0, limit);
  const last = rows[rows.length - 1];
  const next = result.rows.length > limit && last ? { created_at: last.cursor_at, order_id: last.order_id } : undefined;
  return { orders: rows.map(({ cursor_at: _cursorAt, ...summary }) => summary), next };
}

/** An event as GET /api/v1/orders/{order_id}/events answers it (query-service/schemas.ts). */
export type StoredOrderEvent = ReadModel<typeof storedOrderEvent>;

/** An order's events after a seq, oldest first, straight from the append-only event table. */
export async function listOrderEvents(
  db: Queryable,
  orderId: string,
  afterSeq: number,
  limit: number,
): Promise<StoredOrderEvent[]> {
  const result = await db.query<StoredOrderEvent>(
    `SELECT event_id, seq, type, payload, ${OCCURRED_AT_ISO}, metadata->>'correlation_id' AS correlation_id,
            metadata->>'causation_id' AS causation_id, metadata->'actor' AS actor
       FROM order_events WHERE order_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    [orderId, afterSeq, limit],
  );
  return result.rows;
}

export async function orderHasEvents(db: Queryable, orderId: string): Promise<boolean> {
  const result = await db.query('SELECT 1 FROM order_events WHERE order_id = $1 LIMIT 1', [orderId]);
  return (result.rowCount ?? 0) > 0;
}
