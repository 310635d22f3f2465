import { envelopeOf, type OrderEvent, type OrderEventEnvelope } from '../domain/events.js';
import type { Queryable } from '../platform/db.js';
import { ORDER_AGGREGATE } from '../platform/eventEnvelope.js';
import { uuidv7 } from '../platform/ids.js';
import { metadataFor } from '../platform/traceScope.js';

/** An event to append: its type and payload, checked together at compile time (domain/events). */
export type NewEvent = OrderEvent;

/** An event as written: its envelope. */
export type StoredEvent = OrderEventEnvelope;

/**
 * The CTEs every event append ends with, written once: the rows of `from` (event_id, order_id, seq,
 * type, payload, metadata) go into the event log and, with the same ids, into the outbox. The outbox
 * payload is the whole envelope (ids, seq, type, time, payload, metadata): it is the Kafka message value
 * and the Redis Streams entry, and consumers need `seq` to apply events in order. `occurredAt` is an SQL
 * expression (a parameter, or a column of `from`). The outbox CTE, `outboxed`, returns (id, seq).
 * Business code never writes outbox rows itself (the Watermill forwarder's idea).
 *
 * Metadata without a correlation id (written outside a request or a consumed event: a poller, a
 * scheduler, a sweep) takes the correlation of the latest request on the order (its latest event that a
 * request wrote: a placement, a cancellation, an edit) and has the order's latest earlier event as its
 * cause: index probes on (order_id, seq) in the same statement, only for such rows.
 */
export function eventLogAndOutbox(from: string, occurredAt: string, aggregate: string): string {
  return `traced AS (
       SELECT f.event_id, f.order_id, f.seq, f.type, f.payload, (${occurredAt})::timestamptz AS occurred_at,
              CASE WHEN f.metadata ? 'correlation_id' THEN f.metadata
                   ELSE nullif(coalesce(f.metadata, '{}'::jsonb) || coalesce((
                     SELECT jsonb_build_object('correlation_id', r.metadata->'correlation_id', 'traceparent', r.metadata->'traceparent')
                       FROM order_events r
                      WHERE r.order_id = f.order_id AND r.seq < f.seq AND r.metadata ? 'correlation_id'
                        AND r.metadata->'causation_id' = 'null'::jsonb
                      ORDER BY r.seq DESC LIMIT 1), '{}'::jsonb) || coalesce((
                     SELECT jsonb_build_object('causation_id', p.event_id)
                       FROM order_events p WHERE p.order_id = f.order_id AND p.seq < f.seq
                      ORDER BY p.seq DESC LIMIT 1), '{}'::jsonb), '{}'::jsonb) END AS metadata
         FROM ${from} f
     ), logged AS (
       INSERT INTO order_events (event_id, order_id, seq, type, payload, occurred_at, metadata)
       SELECT event_id, order_id, seq, type, payload, occurred_at, metadata FROM traced ORDER BY order_id, seq
     ), outboxed AS (
       INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload)
       SELECT event_id, ${aggregate}, order_id::text, type,
              jsonb_build_object('event_id', event_id, 'order_id', order_id, 'seq', seq, 'type', type,
                                 'occurred_at', to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                                 'payload', payload)
                || CASE WHEN metadata IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('metadata', metadata) END
         FROM traced ORDER BY order_id, seq
       RETURNING id, (payload->>'seq')::int AS seq
     )`;
}

/**
 * The metadata of an order's latest event that has one, as a column of a poller's own query (`order_id`
 * naming the order's column): an index probe on (order_id, seq) in a statement the poller runs anyway.
 */
export const latestMetadataOf = (orderIdColumn: string) =>
  `(SELECT e.metadata FROM order_events e WHERE e.order_id = ${orderIdColumn} AND e.metadata ? 'correlation_id'
     ORDER BY e.seq DESC LIMIT 1)`;

/** The metadata parameter of an event of this order written here (platform/traceScope), as JSON or null. */
export function metadataParam(orderId: string): string | null {
  const metadata = metadataFor(orderId);
  return metadata === undefined ? null : JSON.stringify(metadata);
}

/** One order's events numbered after `after_seq` (from the CTE `base` the caller puts first), written. */
const WRITE_EVENTS = `
  input AS (
    SELECT t.event_id, $1::uuid AS order_id, b.after_seq + t.ord::int AS seq, t.type, t.payload, $7::jsonb AS metadata
      FROM unnest($2::uuid[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS t(event_id, type, payload, ord), base b
  ), ${eventLogAndOutbox('input', '$5', '$6')}
  SELECT id, seq FROM outboxed`;

function eventParams(orderId: string, events: readonly NewEvent[], ids: readonly string[], occurred: string): unknown[] {
  return [
    orderId,
    ids,
    events.map((e) => e.type),
    events.map((e) => JSON.stringify(e.payload)),
    occurred,
    ORDER_AGGREGATE,
    metadataParam(orderId),
  ];
}

function toStored(
  orderId: string,
  events: readonly NewEvent[],
  ids: readonly string[],
  seqs: ReadonlyMap<string, number>,
  occurred: string,
): StoredEvent[] {
  return events.map((event, index) => {
    const eventId = ids[index] as string;
    return envelopeOf({ event_id: eventId, order_id: orderId, seq: seqs.get(eventId) ?? 0, occurred_at: occurred }, event);
  });
}

/**
 * Appends an order's events after `afterSeq` to the event log and the outbox, in one statement. Must
 * run inside the caller's transaction; the unique (order_id, seq) key turns a lost race into an error
 * rather than a gap or a fork. Used where the caller knows the order's version (a new order: 0).
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
  const ids = events.map(() => uuidv7(occurredAt.getTime()));
  const result = await tx.query<{ id: string; seq: number }>(`WITH base AS (SELECT $8::int AS after_seq), ${WRITE_EVENTS}`, [
    ...eventParams(orderId, events, ids, occurred),
    afterSeq,
  ]);
  return toStored(orderId, events, ids, new Map(result.rows.map((r) => [r.id, r.seq])), occurred);
}

/**
 * Appends events to an existing order in one statement: bumps its version by the number of events
 * (locking the order row, so concurrent writers take turns and seq has no gaps), optionally sets its
 * status, and writes the events and their outbox rows. The last event's seq is the order's new version.
 */
export async function appendToOrder(
  tx: Queryable,
  orderId: string,
  events: readonly NewEvent[],
  options: { status?: string; occurredAt?: Date } = {},
): Promise<StoredEvent[]> {
  if (events.length === 0) return [];
  const occurredAt = options.occurredAt ?? new Date();
  const occurred = occurredAt.toISOString();
  const ids = events.map(() => uuidv7(occurredAt.getTime()));
  const result = await tx.query<{ id: string; seq: number }>(
    `WITH base AS (
       UPDATE orders SET version = version + $8, status = coalesce($9::order_status, status), updated_at = now()
        WHERE order_id = $1 AND created_at = uuid7_time($1)
        RETURNING version - $8 AS after_seq
     ), ${WRITE_EVENTS}`,
    [...eventParams(orderId, events, ids, occurred), events.length, options.status ?? null],
  );
  if (result.rows.length !== events.length) throw new Error(`order ${orderId} does not exist`);
  return toStored(orderId, events, ids, new Map(result.rows.map((r) => [r.id, r.seq])), occurred);
}

/** One order's share of a multi-order append. */
export interface OrderAppend {
  readonly orderId: string;
  readonly events: readonly NewEvent[];
  /** The order's new status, if it changes. */
  readonly status?: string;
}

/**
 * Each order's events of a batch as appends, with the order's status as the batch leaves it where it
 * differs from the status its row had when locked.
 */
export function appendsOf(
  events: ReadonlyMap<string, readonly NewEvent[]>,
  finalStatus: ReadonlyMap<string, string>,
  lockedStatus: ReadonlyMap<string, string>,
): OrderAppend[] {
  return [...events].map(([orderId, orderEvents]) => {
    const status = finalStatus.get(orderId);
    return { orderId, events: orderEvents, ...(status === undefined || status === lockedStatus.get(orderId) ? {} : { status }) };
  });
}

/**
 * appendToOrder for many orders in ONE statement (a batch of sagas or shipments recorded together):
 * each order's version is bumped by its number of events (locking its row; orders are locked in id
 * order), its status optionally set, and its events written to the event log and the outbox numbered
 * after its version. Returns each order's events as written.
 */
export async function appendToOrders(
  tx: Queryable,
  appends: readonly OrderAppend[],
  occurredAt: Date = new Date(),
): Promise<Map<string, StoredEvent[]>> {
  const written = new Map<string, StoredEvent[]>();
  const batch = appends.filter((a) => a.events.length > 0).sort((a, b) => (a.orderId < b.orderId ? -1 : 1));
  if (batch.length === 0) return written;
  if (new Set(batch.map((a) => a.orderId)).size !== batch.length) throw new Error('appendToOrders: one entry per order');
  if (batch.length === 1) {
    const [only] = batch as [OrderAppend];
    written.set(
      only.orderId,
      await appendToOrder(tx, only.orderId, only.events, {
        occurredAt,
        ...(only.status === undefined ? {} : { status: only.status }),
      }),
    );
    return written;
  }
  const occurred = occurredAt.toISOString();
  const rows = batch.flatMap((a) => {
    const metadata = metadataParam(a.orderId);
    return a.events.map((event, i) => ({ orderId: a.orderId, ord: i + 1, event, id: uuidv7(occurredAt.getTime()), metadata }));
  });
  const result = await tx.query<{ id: string; seq: number }>(
    `WITH counts AS (
       SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[]) WITH ORDINALITY AS c(order_id, n, status, pos)
     ), base AS (
       UPDATE orders o SET version = o.version + c.n, status = coalesce(c.status::order_status, o.status), updated_at = now()
         FROM (SELECT * FROM counts ORDER BY pos) c
        WHERE o.order_id = c.order_id AND o.created_at = uuid7_time(c.order_id)
        RETURNING o.order_id, o.version - c.n AS after_seq
     ), input AS (
       SELECT t.event_id, t.order_id, b.after_seq + t.ord AS seq, t.type, t.payload, t.metadata
         FROM unnest($4::uuid[], $5::uuid[], $6::int[], $7::text[], $8::jsonb[], $11::jsonb[])
              AS t(event_id, order_id, ord, type, payload, metadata)
         JOIN base b ON b.order_id = t.order_id
     ), ${eventLogAndOutbox('input', '$9', '$10')}
     SELECT id, seq FROM outboxed`,
    [
      batch.map((a) => a.orderId),
      batch.map((a) => a.events.length),
      batch.map((a) => a.status ?? null),
      rows.map((r) => r.id),
      rows.map((r) => r.orderId),
      rows.map((r) => r.ord),
      rows.map((r) => r.event.type),
      rows.map((r) => JSON.stringify(r.event.payload)),
      occurred,
      ORDER_AGGREGATE,
      rows.map((r) => r.metadata),
    ],
  );
  if (result.rows.length !== rows.length) {
    const missing = batch.filter((a) => !rows.some((r) => r.orderId === a.orderId && result.rows.some((w) => w.id === r.id)));
    throw new Error(`orders ${missing.map((a) => a.orderId).join(', ')} do not exist`);
  }
  const seqs = new Map(result.rows.map((r) => [r.id, r.seq]));
  for (const r of rows) {
    const list = written.get(r.orderId) ?? [];
    list.push(envelopeOf({ event_id: r.id, order_id: r.orderId, seq: seqs.get(r.id) ?? 0, occurred_at: occurred }, r.event));
    written.set(r.orderId, list);
  }
  return written;
}
