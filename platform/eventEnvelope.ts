/**
 * The transport envelope of a stored event: the event log row, the outbox payload, the Kafka message
 * value and the Redis Streams entry all carry it. Plumbing knows only this shape (any type, any
 * payload); domain/events' `OrderEventEnvelope` is the same shape with the type and payload typed by
 * the order events' union (docs/architecture.md, "Events").
 */
export interface EventEnvelope<T extends string = string, P = unknown> {
  readonly event_id: string;
  readonly order_id: string;
  /** Position in the order's history, from 1, without gaps. */
  readonly seq: number;
  readonly type: T;
  /** ISO 8601, UTC, milliseconds. */
  readonly occurred_at: string;
  readonly payload: P;
}

/** The aggregate type written to the outbox (Debezium's `aggregatetype`, and so the routing key). */
export const ORDER_AGGREGATE = 'order';

/** The Kafka headers of an event, as Debezium's outbox event router names them (contract §7). */
export const EventHeader = Object.freeze({
  eventId: 'id',
  eventType: 'eventType',
  aggregateType: 'aggregatetype',
} as const);
