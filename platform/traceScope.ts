import { AsyncLocalStorage } from 'node:async_hooks';
import type { EventActor, EventEnvelope, EventMetadata } from './eventEnvelope.js';
import { EventHeader } from './eventEnvelope.js';
import { childSpan, continueTrace, formatTraceparent, parseTraceparent, type TraceParent } from './traceparent.js';

/**
 * The correlation of the work in progress, kept in an AsyncLocalStorage so the code between the edge
 * and the writes does not pass it by hand: a request (the edge sets it, api/main.ts and every HTTP
 * server) or a batch of consumed events (the stream and Kafka consumers set it, per order). Three
 * things read it: the event store (the metadata of the events it appends), the logger (a pino mixin
 * adds `correlation_id` and `trace_id` to every line) and the partner clients (the headers they send).
 */
export interface RequestTrace {
  readonly correlationId: string;
  readonly trace: TraceParent;
  /** The client the request authenticated as (known once the authentication gate admitted it). */
  readonly actor: () => EventActor | null;
}

interface TraceScope {
  /** The request being answered: its metadata is every order's. */
  readonly request?: RequestTrace;
  /** Consumed events: each order's metadata, for the events its handler writes. */
  readonly orders?: ReadonlyMap<string, EventMetadata>;
  /** The one order a nested scope is about (a partner call for one order of a batch). */
  readonly current?: EventMetadata;
  /** Who writes when nothing above says (a poller): the events then inherit their order's correlation. */
  readonly service?: string;
  /** Log fields, computed once per scope. */
  readonly bindings?: Readonly<Record<string, string>>;
}

const storage = new AsyncLocalStorage<TraceScope>();

/** Runs `work` for a request (the edge calls it once per request). */
export function inRequestScope<T>(request: RequestTrace, work: () => T): T {
  return storage.run({ request, bindings: { correlation_id: request.correlationId, trace_id: request.trace.traceId } }, work);
}

/** Runs `work` with no correlation (a group commit flush serving many requests; a timer that starts its own work). */
export function outsideTraceScope<T>(work: () => T): T {
  return storage.exit(work);
}

/** Runs `work` as a service that writes without a message in hand (a poller, a sweep). */
export function inServiceScope<T>(service: string, work: () => T): T {
  return storage.run({ service }, work);
}

/**
 * The metadata of the events a consumer writes for these envelopes: per order, the correlation id and
 * trace of the (last) consumed event of that order, a span of ours, and that event as the cause.
 * An event without metadata (written before it existed) starts a correlation of its own.
 */
export function consumedMetadata(envelopes: Iterable<EventEnvelope>, service: string): Map<string, EventMetadata> {
  const byOrder = new Map<string, EventMetadata>();
  for (const envelope of envelopes) {
    const metadata = envelope.metadata ?? undefined;
    byOrder.set(envelope.order_id, causedBy(envelope.event_id, metadata?.correlation_id, metadata?.traceparent, service));
  }
  return byOrder;
}

/** The metadata of what a service writes in reaction to one event (by id, with its correlation and trace when known). */
export function causedBy(
  eventId: string | null,
  correlationId: string | undefined,
  traceparent: string | undefined,
  service: string,
): EventMetadata {
  const trace = continueTrace(traceparent);
  return {
    correlation_id: correlationId ?? trace.traceId,
    traceparent: formatTraceparent(trace),
    causation_id: eventId,
    actor: { kind: 'service', service },
  };
}

/** The metadata of what a Kafka record's handler writes, from the record's headers (order-events or a partner's topic). */
export function metadataFromHeaders(headers: Readonly<Record<string, string>>, service: string): EventMetadata | undefined {
  const correlationId = headers[EventHeader.correlationId];
  const traceparent = headers[EventHeader.traceparent];
  if (correlationId === undefined && traceparent === undefined) return undefined;
  // order-events name the event in `id`; a partner's answer names the event of ours it answers in `causation-id`.
  return causedBy(headers[EventHeader.causationId] ?? headers[EventHeader.eventId] ?? null, correlationId, traceparent, service);
}

/**
 * Runs `work` (a poller's partner call for one order) with the correlation of that order's latest event
 * (`latest`: its metadata, read with the poller's own rows): the call's headers and log lines carry it.
 */
export function continuingOrder<T>(orderId: string, latest: EventMetadata | null | undefined, service: string, work: () => T): T {
  if (latest === null || latest === undefined) return work();
  const metadata = causedBy(null, latest.correlation_id, latest.traceparent, service);
  return storage.run({ orders: new Map([[orderId, metadata]]), current: metadata, bindings: bindingsOf(metadata) }, work);
}

/**
 * The Kafka headers of a partner's answer to one of our messages (the WMS's steps for a shipment
 * request): the correlation id, the trace continued, and our event it answers as `causation-id`.
 * Empty when the request carried no correlation.
 */
export function answerHeaders(request: Readonly<Record<string, string>>): Record<string, string> {
  const correlationId = request[EventHeader.correlationId];
  if (correlationId === undefined) return {};
  const eventId = request[EventHeader.eventId];
  return {
    [EventHeader.correlationId]: correlationId,
    [EventHeader.traceparent]: formatTraceparent(continueTrace(request[EventHeader.traceparent])),
    ...(eventId === undefined ? {} : { [EventHeader.causationId]: eventId }),
  };
}

/** Runs a consumer's handler for a batch, each order's writes and log lines carrying its own metadata. */
export function inConsumerScope<T>(orders: ReadonlyMap<string, EventMetadata>, work: () => T): T {
  if (orders.size === 0) return work();
  const only = orders.size === 1 ? orders.values().next().value : undefined;
  return storage.run({ orders, ...(only === undefined ? {} : { current: only, bindings: bindingsOf(only) }) }, work);
}

/**
 * Runs `work` for one order of the batch in hand (a partner call for it): the headers the partner
 * clients send and the log lines then carry that order's correlation.
 */
export function forOrder<T>(orderId: string, work: () => T): T {
  const scope = storage.getStore();
  const current = scope?.orders?.get(orderId);
  if (scope === undefined || current === undefined) return work();
  return storage.run({ ...scope, current, bindings: bindingsOf(current) }, work);
}

function bindingsOf(metadata: EventMetadata): Readonly<Record<string, string>> {
  return { correlation_id: metadata.correlation_id, trace_id: parseTraceparent(metadata.traceparent)?.traceId ?? '' };
}

/** The metadata of an event a request writes (null causation: the request is the cause). */
export function requestMetadata(request: RequestTrace): EventMetadata {
  return {
    correlation_id: request.correlationId,
    traceparent: formatTraceparent(request.trace),
    causation_id: null,
    actor: request.actor(),
  };
}

/** The request being answered here, if any. */
export function currentRequest(): RequestTrace | undefined {
  return storage.getStore()?.request;
}

/**
 * The metadata for an event of this order written here, or a partial one (the actor only) that the
 * event store completes from the order's previous event; undefined outside any scope (the same).
 */
export function metadataFor(orderId: string): Partial<EventMetadata> | undefined {
  const scope = storage.getStore();
  if (scope === undefined) return undefined;
  if (scope.request !== undefined) return requestMetadata(scope.request);
  const metadata = scope.orders?.get(orderId);
  if (metadata !== undefined) return metadata;
  if (scope.service !== undefined) return { actor: { kind: 'service', service: scope.service } };
  return undefined;
}

/**
 * The log fields of the scope: a request's, the one order's, or the order a line names (`order_id`).
 * A new object every time: pino merges the line into what its mixin answers.
 */
export function logBindings(line: object): Record<string, string> {
  const scope = storage.getStore();
  if (scope === undefined) return {};
  const orderId = (line as { order_id?: unknown }).order_id;
  if (typeof orderId === 'string' && scope.orders !== undefined) {
    const metadata = scope.orders.get(orderId);
    if (metadata !== undefined && metadata !== scope.current) return { ...bindingsOf(metadata) };
  }
  return scope.bindings === undefined ? {} : { ...scope.bindings };
}

/**
 * The headers a partner call sends (HTTP `traceparent` and `X-Request-Id`, or the same as Kafka
 * headers): the trace continued by a span of this call, and the correlation id. Empty outside a scope
 * that names one correlation (a batch of many orders, unless `forOrder` picked one).
 */
export function partnerHeaders(): Record<string, string> {
  const scope = storage.getStore();
  if (scope === undefined) return {};
  let correlationId: string;
  let trace: TraceParent | undefined;
  if (scope.request !== undefined) {
    correlationId = scope.request.correlationId;
    trace = scope.request.trace;
  } else if (scope.current !== undefined) {
    correlationId = scope.current.correlation_id;
    trace = parseTraceparent(scope.current.traceparent);
  } else return {};
  return {
    traceparent: formatTraceparent(trace === undefined ? continueTrace(undefined) : childSpan(trace)),
    'x-request-id': correlationId,
  };
}
