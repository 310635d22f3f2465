import { ORDER_AGGREGATE } from '../domain/events.js';
import type { Queryable } from './db.js';
import { uuidv7 } from './ids.js';

export interface NewEvent {
  readonly type: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

export interface StoredEvent {
  readonly event_id: string;
  readonly order_id: string;
  readonly seq: number;
  readonly type: string;
  readonly occurred_at: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

/**
 * Appends an order's events to the event log and, in the same statement, to the outbox, so business
 * code never writes outbox rows itself (the Watermill forwarder's idea). Must run inside the caller's
 * transaction, which also moved the order's version from `afterSeq` to `afterSeq + events.length`;
 * the unique (order_id, seq) key turns a lost race into an error rather than a gap or a fork.
 *
 * The outbox payload is the whole envelope (ids, seq, type, time, payload): it is the Kafka message
 * value and the Redis Streams entry, and consumers need `seq` to apply events in order.
 */
export async function appendOrderEvents(
  tx: Queryable,
  orderId: string,
  afterSeq: number,
  events: readonly NewEvent[],
  occurredAt: Date = new Date(),
): Promise<StoredEvent[]> {
  if (events.length === 0) return [];
  const occurred = occurredAt.toISOString();
  const stored: StoredEvent[] = events.map((event, index) => ({
    event_id: uuidv7(occurredAt.getTime()),
    order_id: orderId,
    seq: afterSeq + index + 1,
    type: event.type,
    occurred_at: occurred,
    payload: event.payload,
  }));
  await tx.query(
    `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::jsonb[], $5::jsonb[])
         AS t(event_id, seq, type, payload, envelope)
     ), logged AS (
       INSERT INTO order_events (event_id, order_id, seq, type, payload, occurred_at)
       SELECT event_id, $6::uuid, seq, type, payload, $7::timestamptz FROM input
     )
     INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload)
     SELECT event_id, $8, $6::text, type, envelope FROM input ORDER BY seq`,
    [
      stored.map((e) => e.event_id),
      stored.map((e) => e.seq),
      stored.map((e) => e.type),
      stored.map((e) => JSON.stringify(e.payload)),
      stored.map((e) => JSON.stringify(e)),
      orderId,
      occurred,
      ORDER_AGGREGATE,
    ],
  );
  return stored;
}

/**
 * Appends events to an existing order: bumps its version by the number of events (locking the order
 * row, so concurrent writers take turns and seq has no gaps) and optionally sets its status, then
 * appends the events and their outbox rows. Returns the stored events; the last one's seq is the
 * order's new version.
 */
export async function appendToOrder(
  tx: Queryable,
  orderId: string,
  events: readonly NewEvent[],
  options: { status?: string; occurredAt?: Date } = {},
): Promise<StoredEvent[]> {
  const bumped = await tx.query<{ version: number }>(
    `UPDATE orders SET version = version + $2, status = coalesce($3::order_status, status), updated_at = now()
      WHERE order_id = $1 AND created_at = uuid7_time($1)
      RETURNING version`,
    [orderId, events.length, options.status ?? null],
  );
  const version = bumped.rows[0]?.version;
  if (version === undefined) throw new Error(`order ${orderId} does not exist`);
  return appendOrderEvents(tx, orderId, version - events.length, events, options.occurredAt);
}
