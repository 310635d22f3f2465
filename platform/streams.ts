/**
 * Redis Streams layout shared by the relay (producer) and the workers (consumer groups). Each group
 * has `partitions` streams of its own; events are spread over them by a hash of the order id, so one
 * order's events stay in one stream of the group, in order.
 */
export interface StreamLayout {
  readonly prefix: string;
  readonly partitions: number;
}

/** The streams of one consumer group: each group has its own, holding only the event types it handles. */
export function groupStreams(layout: StreamLayout, group: string): string[] {
  return Array.from({ length: layout.partitions }, (_, n) => `${layout.prefix}:order-events:${group}:${n}`);
}

/** The streams of every group named. */
export function allStreams(layout: StreamLayout, groups: readonly string[]): string[] {
  return groups.flatMap((group) => groupStreams(layout, group));
}

/** FNV-1a (32 bit) of the order id: stable across processes and languages. */
export function streamForOrder(layout: StreamLayout, group: string, orderId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < orderId.length; i++) {
    hash ^= orderId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `${layout.prefix}:order-events:${group}:${hash % layout.partitions}`;
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
  /** The event's correlation id and traceparent (metadata), when it has them. */
  readonly correlation_id?: string | null;
  readonly traceparent?: string | null;
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
    ...(entry.correlation_id ? ['correlation_id', entry.correlation_id] : []),
    ...(entry.traceparent ? ['traceparent', entry.traceparent] : []),
  ];
}

export function parseFields(fields: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i] as string] = fields[i + 1] as string;
  return record;
}
