/**
 * Redis Streams layout shared by the relay (producer) and the workers (consumer groups).
 * Events are spread over `partitions` streams by a hash of the order id, so one order's events stay in
 * one stream, in order.
 */
export interface StreamLayout {
  readonly prefix: string;
  readonly partitions: number;
}

/** The consumer groups the relay creates with every stream, so no event is trimmed before they read it. */
export const ConsumerGroup = Object.freeze({
  saga: 'saga',
  projector: 'projector',
  router: 'router',
  changes: 'changes',
} as const);
export type ConsumerGroupName = (typeof ConsumerGroup)[keyof typeof ConsumerGroup];
export const CONSUMER_GROUPS: readonly ConsumerGroupName[] = Object.freeze(Object.values(ConsumerGroup));

export function streamName(layout: StreamLayout, partition: number): string {
  return `${layout.prefix}:order-events:${partition}`;
}

export function allStreams(layout: StreamLayout): string[] {
  return Array.from({ length: layout.partitions }, (_, n) => streamName(layout, n));
}

/** FNV-1a (32 bit) of the order id: stable across processes and languages. */
export function streamForOrder(layout: StreamLayout, orderId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < orderId.length; i++) {
    hash ^= orderId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return streamName(layout, hash % layout.partitions);
}

/** Present while Redis holds the streams the relay made; gone after a restart without data or FLUSHALL. */
export function epochKey(layout: StreamLayout): string {
  return `${layout.prefix}:relay:epoch`;
}

/** One stream entry as the relay writes it: flat string fields. */
export interface EventEntry {
  readonly event_id: string;
  readonly order_id: string;
  readonly seq: string;
  readonly type: string;
  /** The outbox position `tx_id/id`, so the relay can map an unacknowledged entry back to the outbox. */
  readonly pos: string;
  /** The event envelope as JSON (the outbox payload). */
  readonly envelope: string;
}

export function entryFields(entry: EventEntry): string[] {
  return [
    'event_id',
    entry.event_id,
    'order_id',
    entry.order_id,
    'seq',
    entry.seq,
    'type',
    entry.type,
    'pos',
    entry.pos,
    'envelope',
    entry.envelope,
  ];
}

export function parseFields(fields: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i] as string] = fields[i + 1] as string;
  return record;
}
