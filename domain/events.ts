import { PAYLOAD_SHAPES, kindMismatch, type EventPayloads } from './eventPayloads.js';
import { OrderEventType, type OrderEventTypeName } from './eventTypes.js';

// The table of event types has a file of its own, so the payloads can name the types without a circle.
export { OrderEventType, type OrderEventTypeName };

/** One event as its producer appends it: the type and its payload, checked together at compile time. */
export type OrderEvent = { readonly [K in OrderEventTypeName]: OrderEventOf<K> }[OrderEventTypeName];

/** The event of one type. */
export interface OrderEventOf<K extends OrderEventTypeName> {
  readonly type: K;
  readonly payload: EventPayloads[K];
}

/**
 * One stored order event as every reader sees it, narrowed by `type`. The same shape as platform's
 * transport envelope (platform/eventEnvelope's `EventEnvelope<type, payload>`), declared here because
 * domain/ imports nothing outside itself; test/unit/events.parse.spec.ts checks the two agree.
 */
export type OrderEventEnvelope = { readonly [K in OrderEventTypeName]: OrderEventEnvelopeOf<K> }[OrderEventTypeName];

/** A consumed message's order: the key that keeps one order's messages in turn (platform/messageHandler's dispatchByType). */
export function orderOfMessage(message: { readonly event: { readonly order_id: string } }): string {
  return message.event.order_id;
}

export interface OrderEventEnvelopeOf<K extends OrderEventTypeName> extends OrderEventOf<K> {
  readonly event_id: string;
  readonly order_id: string;
  /** Position in the order's history, from 1, without gaps. */
  readonly seq: number;
  /** ISO 8601, UTC, milliseconds. */
  readonly occurred_at: string;
}

/** Where an event was stored: everything of its envelope but the event itself. */
export interface StoredAt {
  readonly event_id: string;
  readonly order_id: string;
  readonly seq: number;
  readonly occurred_at: string;
}

/** The envelope of `event` stored `at`. */
export function envelopeOf(at: StoredAt, event: OrderEvent): OrderEventEnvelope {
  // One cast, here: TypeScript does not correlate `type` and `payload` read from the same union member.
  return { ...at, type: event.type, payload: event.payload } as OrderEventEnvelope;
}

/** `event` with the order's status after it in its payload (the events that move the order's status). */
export function withOrderStatus<E extends OrderEvent>(event: E, orderStatus: string | undefined): E {
  return { ...event, payload: { ...event.payload, order_status: orderStatus } } as E;
}

const isEventType = (type: string): type is OrderEventTypeName => Object.hasOwn(PAYLOAD_SHAPES, type);

/** Whether the envelope is an event of `type` (narrows its payload). */
export function isEvent<K extends OrderEventTypeName>(
  event: OrderEventEnvelope,
  type: K,
): event is Extract<OrderEventEnvelope, { readonly type: K }> {
  return event.type === type;
}

/**
 * An order event envelope as it arrives from outside (a Redis Streams entry, a Kafka value): checked
 * once, here, and typed; or why it is refused (an unknown type, a payload without a field its type
 * requires or with a field of the wrong kind). Handlers downstream trust the types.
 */
export function parseOrderEvent(value: unknown): OrderEventEnvelope | string {
  if (typeof value !== 'object' || value === null) return 'not an event envelope';
  const v = value as Readonly<Record<string, unknown>>;
  for (const [field, kind] of ENVELOPE_FIELDS) {
    if (typeof v[field] !== kind) return `not an event envelope: ${field} is not a ${kind}`;
  }
  const type = v.type as string;
  if (!isEventType(type)) return `unknown event type ${type}`;
  const payload = v.payload;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return `${type}: payload is not an object`;
  for (const [field, kind] of Object.entries(PAYLOAD_SHAPES[type]) as Array<[string, Parameters<typeof kindMismatch>[1]]>) {
    const mismatch = kindMismatch((payload as Record<string, unknown>)[field], kind);
    if (mismatch !== undefined) return `${type}: payload.${field} ${mismatch}`;
  }
  return value as OrderEventEnvelope;
}

const ENVELOPE_FIELDS: ReadonlyArray<readonly [keyof StoredAt | 'type', 'string' | 'number']> = [
  ['event_id', 'string'],
  ['order_id', 'string'],
  ['seq', 'number'],
  ['type', 'string'],
  ['occurred_at', 'string'],
];
