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
  /** Who and what caused the event (absent on events written before correlation ids existed). */
  readonly metadata?: EventMetadata | null;
}

/** The client or service an event was written for. */
export type EventActor =
  /** A request authenticated by an API key (contract §8): its id, and its channel (null: back office). */
  | { readonly kind: 'api_key'; readonly key_id: string; readonly channel: string | null }
  /** A worker or sandbox of ours reacting to an earlier event (the consumer group or service name). */
  | { readonly kind: 'service'; readonly service: string };

/**
 * What every event carries beside its payload, in `order_events.metadata`, in the outbox envelope (and
 * so the Kafka value and the stream entry) and, for the ids, in the Kafka headers and stream fields.
 */
export interface EventMetadata {
  /** The id that follows one request through everything it causes: its X-Request-Id, else its trace id. */
  readonly correlation_id: string;
  /** W3C traceparent of the operation that wrote the event (same trace id from the edge on). */
  readonly traceparent: string;
  /** The event this one reacts to; null for an event a request wrote. */
  readonly causation_id: string | null;
  readonly actor: EventActor | null;
}

/** The aggregate type written to the outbox (Debezium's `aggregatetype`, and so the routing key). */
export const ORDER_AGGREGATE = 'order';

/** The Kafka headers of an event, as Debezium's outbox event router names them (contract §7). */
export const EventHeader = Object.freeze({
  eventId: 'id',
  eventType: 'eventType',
  aggregateType: 'aggregatetype',
  /** W3C Trace Context of the operation that wrote the event (not a Debezium header: ours). */
  traceparent: 'traceparent',
  /** The correlation id (X-Request-Id of the request it all started from). */
  correlationId: 'correlation-id',
  /** On a partner's message (the WMS's answers): the event of ours it answers. */
  causationId: 'causation-id',
} as const);

/** Stream entry fields beside the envelope: the ids a consumer logs before it parses anything. */
export const StreamTraceField = Object.freeze({
  correlationId: 'correlation_id',
  traceparent: 'traceparent',
} as const);
