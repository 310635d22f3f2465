import type { EventEnvelope } from '../domain/events.js';
import type { Config } from './config.js';
import { hostname } from 'node:os';
import type { Logger } from './logger.js';
import type { Redis } from './redis.js';
import { allStreams, deadLetterStream, parseFields, type StreamLayout } from './streams.js';
import { Wakeup } from './wakeup.js';

export type { EventEnvelope };

export interface StreamMessage {
  readonly stream: string;
  readonly id: string;
  /** How many times this entry has been delivered to the group, this delivery included. */
  readonly deliveries: number;
  readonly event: EventEnvelope;
}

export type MessageHandler = (message: StreamMessage) => Promise<void>;

/** An entry of a batch its handler could not handle: it stays pending and is retried. */
export interface BatchFailure {
  readonly message: StreamMessage;
  readonly error: unknown;
}

/**
 * Handles what one read returned, as one batch (stream order; one order's entries in order), and
 * answers the entries that failed; the others are acknowledged. Throwing fails the whole batch.
 */
export type BatchHandler = (messages: readonly StreamMessage[]) => Promise<readonly BatchFailure[]>;

export interface StreamConsumerOptions {
  /** Blocking reads hold their connection, so the consumer takes two: one to read, one for everything else. */
  readonly reader: Redis;
  readonly commands: Redis;
  readonly layout: StreamLayout;
  readonly group: string;
  readonly consumer?: string;
  /** One entry at a time; or, instead, `batchHandler`. */
  readonly handler?: MessageHandler;
  /**
   * Batch mode: every wanted entry of a read (or of a claim) goes to this handler at once, and the
   * ones that succeeded are acknowledged with one XACK per stream. A batch waits for earlier batches
   * holding entries of the same orders; other batches may run beside it (up to maxInFlight entries).
   */
  readonly batchHandler?: BatchHandler;
  /** Event types the handler reacts to; entries of other types are acknowledged at once, unhandled. */
  readonly handles?: (eventType: string) => boolean;
  readonly logger: Logger;
  readonly batchSize?: number;
  readonly blockMs?: number;
  readonly claimIdleMs: number;
  readonly maxDeliveries: number;
  /** Entries handled at once (different orders run side by side; one order's entries in turn). */
  readonly maxInFlight?: number;
  /**
   * Batch mode: batches handled at once (default 4). While all are busy the consumer does not read,
   * so entries gather into bigger batches under load, and one slow batch does not stop the others.
   */
  readonly maxBatchesInFlight?: number;
}

type RawEntry = [id: string, fields: string[]];
type RawRead = Array<[stream: string, entries: RawEntry[]]> | null;

/** An entry read or claimed, with how many times the group has delivered it. */
interface PendingEntry {
  readonly stream: string;
  readonly entry: RawEntry;
  readonly deliveries: number;
}

/** The entry's event envelope, or why it is not one (such an entry can never succeed). */
function parseEnvelope(fields: Record<string, string>): EventEnvelope | string {
  try {
    const event = JSON.parse(fields.envelope ?? '') as EventEnvelope;
    if (typeof event.event_id !== 'string' || typeof event.type !== 'string') throw new Error('not an event envelope');
    return event;
  } catch (error) {
    return String(error);
  }
}

/**
 * A Redis Streams consumer-group member. On start it re-reads its own pending entries; then it reads
 * new entries (XREADGROUP), acknowledging each after its handler succeeds. Entries left pending (a
 * handler failed, or a consumer died) are claimed again once idle for claimIdleMs (XAUTOCLAIM), and
 * after maxDeliveries deliveries go to the group's dead-letter stream instead. One order's entries are
 * handled one after another; different orders concurrently, up to maxInFlight at once, without
 * waiting for a whole batch (a slow saga does not hold up the orders read with it). In batch mode
 * (`batchHandler`), what one read or claim returns is handled as one batch instead.
 */
export class StreamConsumer {
  readonly consumer: string;
  private running = false;
  private readonly streams: string[];
  private readonly lastErrors = new Map<string, string>();
  private loops: Array<Promise<void>> = [];
  private claimTimer: NodeJS.Timeout | undefined;
  private handled = 0;
  /** The last entry queued per order: the next one of that order waits for it. */
  private readonly orderTails = new Map<string, Promise<void>>();
  /** Entries being handled here, by stream/id: a claim of them is skipped. */
  private readonly inFlight = new Set<string>();
  private readonly slotFreed = new Wakeup();
  private batchesInFlight = 0;

  constructor(private readonly options: StreamConsumerOptions) {
    if ((options.handler === undefined) === (options.batchHandler === undefined))
      throw new Error(`consumer group ${options.group}: give either handler or batchHandler`);
    this.consumer = options.consumer ?? `${hostname()}-${process.pid}-${options.group}`;
    this.streams = allStreams(options.layout);
  }

  async start(): Promise<void> {
    this.running = true;
    await this.ensureGroups();
    await this.recoverOwnPending();
    this.loops.push(this.readLoop());
    this.scheduleClaims();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.claimTimer);
    // The blocking read returns within blockMs; then the entries in flight finish.
    await Promise.allSettled(this.loops);
    await Promise.allSettled([...this.orderTails.values()]);
  }

  private async ensureGroups(): Promise<void> {
    for (const stream of this.streams) {
      await this.options.commands.xgroup('CREATE', stream, this.options.group, '0', 'MKSTREAM').catch((error: unknown) => {
        if (!String(error).includes('BUSYGROUP')) throw error;
      });
    }
  }

  private async recoverOwnPending(): Promise<void> {
    for (;;) {
      const read = await this.readGroup(this.options.commands, '0', this.options.batchSize ?? 100);
      const entries = (read ?? []).flatMap(([stream, list]) => list.map((entry) => ({ stream, entry })));
      if (entries.length === 0) return;
      const before = this.handled;
      await this.dispatchAll(entries.map(({ stream, entry }) => ({ stream, entry, deliveries: 2 })));
      if (this.handled === before) return; // all failed again: leave them to the claim loop
    }
  }

  /** XREADGROUP over every stream: '0' re-reads this consumer's pending entries, '>' reads new ones. */
  private async readGroup(client: Redis, from: '0' | '>', count: number, blockMs?: number): Promise<RawRead> {
    const block = blockMs === undefined ? [] : ['BLOCK', blockMs];
    const args = [
      'GROUP',
      this.options.group,
      this.consumer,
      'COUNT',
      count,
      ...block,
      'STREAMS',
      ...this.streams,
      ...this.streams.map(() => from),
    ];
    return (await client.call('XREADGROUP', ...args)) as RawRead;
  }

  private async readLoop(): Promise<void> {
    const { reader, group, logger } = this.options;
    const maxInFlight = this.options.maxInFlight ?? 64;
    while (this.running) {
      try {
        const batchesFull =
          this.options.batchHandler !== undefined && this.batchesInFlight >= (this.options.maxBatchesInFlight ?? 4);
        if (this.inFlight.size >= maxInFlight || batchesFull) {
          await this.slotFreed.wait(100);
          continue;
        }
        const count = Math.min(this.options.batchSize ?? 100, maxInFlight - this.inFlight.size);
        const read = await this.readGroup(reader, '>', count, this.options.blockMs ?? 1_000);
        if (read === null) continue;
        const wanted: PendingEntry[] = [];
        for (const [stream, list] of read) {
          const skipped: string[] = [];
          for (const entry of list) {
            if (this.wants(entry)) wanted.push({ stream, entry, deliveries: 1 });
            else skipped.push(entry[0]);
          }
          if (skipped.length > 0) await this.options.commands.xack(stream, group, ...skipped);
        }
        if (wanted.length > 0) void this.dispatchAll(wanted);
      } catch (error) {
        if (!this.running) return;
        if (String(error).includes('NOGROUP')) {
          logger.warn({ group }, 'consumer group missing (Redis lost its data?); recreating it');
          await this.ensureGroups().catch(() => undefined);
        } else {
          logger.warn({ err: error, group }, 'stream read failed; retrying');
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  private scheduleClaims(): void {
    const interval = Math.max(50, Math.floor(this.options.claimIdleMs / 2));
    const tick = async () => {
      if (!this.running) return;
      try {
        await this.claimIdle();
      } catch (error) {
        if (String(error).includes('NOGROUP')) await this.ensureGroups().catch(() => undefined);
        else this.options.logger.warn({ err: error }, 'claiming idle entries failed');
      }
      if (this.running) this.claimTimer = setTimeout(() => void tick(), interval);
    };
    this.claimTimer = setTimeout(() => void tick(), interval);
  }

  /**
   * Takes over entries idle for claimIdleMs (a dead consumer's, or our own failed ones) and retries
   * them. Ids are claimed first without counting a delivery (JUSTID), so entries still being handled
   * here are left alone; the others are claimed for real, which counts the delivery.
   */
  private async claimIdle(): Promise<void> {
    // Every stream at once: their first XAUTOCLAIMs go out in one write (auto-pipelining).
    await Promise.all(this.streams.map((stream) => this.claimIdleOf(stream)));
  }

  private async claimIdleOf(stream: string): Promise<void> {
    const { commands, group, claimIdleMs } = this.options;
    let cursor = '0-0';
    do {
      const [next, ids] = (await commands.xautoclaim(
        stream,
        group,
        this.consumer,
        claimIdleMs,
        cursor,
        'COUNT',
        100,
        'JUSTID',
      )) as [string, string[]];
      cursor = next;
      const idle = ids.filter((id) => !this.inFlight.has(`${stream}/${id}`));
      if (idle.length > 0) {
        const entries = (await commands.xclaim(stream, group, this.consumer, 0, ...idle)) as RawEntry[];
        const claimed: PendingEntry[] = [];
        for (const entry of entries) {
          const info = (await commands.xpending(stream, group, entry[0], entry[0], 1)) as Array<[string, string, number, number]>;
          claimed.push({ stream, entry, deliveries: info[0]?.[3] ?? 1 });
        }
        await this.dispatchAll(claimed);
      }
    } while (cursor !== '0-0' && this.running);
  }

  private wants(entry: RawEntry): boolean {
    const type = parseFields(entry[1]).type;
    return this.options.handles === undefined || type === undefined || this.options.handles(type);
  }

  /** Entries to handle: one at a time (each behind its order's previous one), or as one batch. */
  private dispatchAll(entries: readonly PendingEntry[]): Promise<unknown> {
    if (this.options.batchHandler !== undefined) return this.dispatchBatch(entries, this.options.batchHandler);
    return Promise.all(entries.map(({ stream, entry, deliveries }) => this.dispatch(stream, entry, deliveries)));
  }

  /**
   * Queues a batch behind the entries in flight of the same orders (so one order's entries are still
   * handled in turn); resolves when it has been handled.
   */
  private dispatchBatch(entries: readonly PendingEntry[], handler: BatchHandler): Promise<void> {
    const fresh = entries.filter(({ stream, entry }) => !this.inFlight.has(`${stream}/${entry[0]}`));
    if (fresh.length === 0) return Promise.resolve();
    for (const { stream, entry } of fresh) this.inFlight.add(`${stream}/${entry[0]}`);
    this.batchesInFlight++;
    const orderIds = [...new Set(fresh.map(({ entry }) => parseFields(entry[1]).order_id ?? entry[0]))];
    const previous = Promise.all(orderIds.map((orderId) => this.orderTails.get(orderId)));
    const done: Promise<void> = previous
      .then(() => this.handleBatch(fresh, handler))
      .catch((error: unknown) => this.options.logger.error({ err: error, entries: fresh.length }, 'stream batch handling failed'))
      .finally(() => {
        for (const { stream, entry } of fresh) this.inFlight.delete(`${stream}/${entry[0]}`);
        this.batchesInFlight--;
        for (const orderId of orderIds) if (this.orderTails.get(orderId) === done) this.orderTails.delete(orderId);
        this.slotFreed.wake();
      });
    for (const orderId of orderIds) this.orderTails.set(orderId, done);
    return done;
  }

  /**
   * Dead-letters what can never succeed (too many deliveries, malformed), hands the rest to the batch
   * handler, and acknowledges what succeeded with one XACK per stream.
   */
  private async handleBatch(entries: readonly PendingEntry[], handler: BatchHandler): Promise<void> {
    const { commands, group } = this.options;
    const messages: StreamMessage[] = [];
    for (const { stream, entry, deliveries } of entries) {
      const message = await this.admit(stream, entry, deliveries);
      if (message !== undefined) messages.push(message);
    }
    if (messages.length === 0) return;
    let failures: readonly BatchFailure[];
    try {
      failures = await handler(messages);
    } catch (error) {
      failures = messages.map((message) => ({ message, error }));
    }
    const failed = new Set(failures.map((f) => f.message));
    for (const { message, error } of failures) this.recordFailure(message, error);
    const succeeded = new Map<string, string[]>();
    for (const message of messages) {
      if (failed.has(message)) continue;
      succeeded.set(message.stream, [...(succeeded.get(message.stream) ?? []), message.id]);
      this.lastErrors.delete(`${message.stream}/${message.id}`);
    }
    for (const [stream, ids] of succeeded) await commands.xack(stream, group, ...ids);
    this.handled += messages.length - failed.size;
  }

  /**
   * An entry as a message for the handler, or undefined when it can never succeed: delivered too often,
   * or malformed (straight to the dead letters, never crashing the worker).
   */
  private async admit(stream: string, [id, rawFields]: RawEntry, deliveries: number): Promise<StreamMessage | undefined> {
    const fields = parseFields(rawFields);
    if (deliveries > this.options.maxDeliveries) {
      await this.deadLetter(stream, id, fields, deliveries, this.lastErrors.get(`${stream}/${id}`) ?? 'too many deliveries');
      return undefined;
    }
    const event = parseEnvelope(fields);
    if (typeof event !== 'string') return { stream, id, deliveries, event };
    await this.deadLetter(stream, id, fields, deliveries, `malformed entry: ${event}`);
    return undefined;
  }

  /** A failed message stays pending: its error is kept for the dead letter it may become. */
  private recordFailure(message: StreamMessage, error: unknown): void {
    this.lastErrors.set(`${message.stream}/${message.id}`, error instanceof Error ? error.message : String(error));
    const { event } = message;
    this.options.logger.warn(
      { err: error, event_id: event.event_id, order_id: event.order_id, type: event.type, deliveries: message.deliveries },
      'handler failed; the entry stays pending and will be retried',
    );
  }

  /** Queues an entry behind its order's previous one; resolves when it has been handled. */
  private dispatch(stream: string, entry: RawEntry, deliveries: number): Promise<void> {
    const key = `${stream}/${entry[0]}`;
    if (this.inFlight.has(key)) return Promise.resolve();
    this.inFlight.add(key);
    const orderId = parseFields(entry[1]).order_id ?? entry[0];
    const previous = this.orderTails.get(orderId) ?? Promise.resolve();
    const done = previous
      .then(() => this.handleOne(stream, entry, deliveries))
      .catch((error: unknown) =>
        this.options.logger.error({ err: error, stream, entry_id: entry[0] }, 'stream entry handling failed'),
      )
      .finally(() => {
        this.inFlight.delete(key);
        if (this.orderTails.get(orderId) === done) this.orderTails.delete(orderId);
        this.slotFreed.wake();
      });
    this.orderTails.set(orderId, done);
    return done;
  }

  private async handleOne(stream: string, entry: RawEntry, deliveries: number): Promise<void> {
    const message = await this.admit(stream, entry, deliveries);
    if (message === undefined) return;
    try {
      if (this.options.handler === undefined) throw new Error('no handler for single entries');
      await this.options.handler(message);
      await this.options.commands.xack(stream, this.options.group, message.id);
      this.lastErrors.delete(`${stream}/${message.id}`);
      this.handled++;
    } catch (error) {
      this.recordFailure(message, error);
    }
  }

  private async deadLetter(
    stream: string,
    id: string,
    fields: Record<string, string>,
    deliveries: number,
    reason: string,
  ): Promise<void> {
    const { commands, group, layout, logger } = this.options;
    await commands.xadd(
      deadLetterStream(layout, group),
      '*',
      'source_stream',
      stream,
      'source_id',
      id,
      'deliveries',
      String(deliveries),
      'reason',
      reason,
      ...Object.entries(fields).flat(),
    );
    await commands.xack(stream, group, id);
    this.lastErrors.delete(`${stream}/${id}`);
    logger.error(
      { stream, entry_id: id, event_id: fields.event_id, order_id: fields.order_id, deliveries, reason },
      'entry dead-lettered',
    );
  }
}

/** Handlers by event type; the consumer acknowledges entries of every other type unhandled. */
export type EventHandlers = Readonly<Record<string, (message: StreamMessage) => Promise<void>>>;

/** A consumer-group member that dispatches each entry to the handler of its event type. */
export function dispatchingConsumer(
  options: StreamWorkerOptions,
  group: string,
  handlers: EventHandlers,
  maxInFlight?: number,
): StreamConsumer {
  return new StreamConsumer({
    ...memberOf(options, group),
    ...(maxInFlight === undefined ? {} : { maxInFlight }),
    handles: (type) => type in handlers,
    handler: async (message) => handlers[message.event.type]?.(message),
  });
}

/** What every consumer-group worker needs to read the order event streams. */
export interface StreamWorkerOptions {
  /** Blocking reads hold their connection: one to read, one for everything else. */
  readonly reader: Redis;
  readonly commands: Redis;
  readonly layout: StreamLayout;
  readonly logger: Logger;
  readonly claimIdleMs: number;
  readonly maxDeliveries: number;
  /** The member's name in its group; by default host, pid and group. */
  readonly consumerName?: string;
}

/** A worker's options as a consumer-group member's, for `group`. */
export function memberOf(options: StreamWorkerOptions, group: string): Omit<StreamConsumerOptions, 'handler' | 'handles'> {
  return {
    reader: options.reader,
    commands: options.commands,
    layout: options.layout,
    group,
    ...(options.consumerName === undefined ? {} : { consumer: options.consumerName }),
    logger: options.logger,
    claimIdleMs: options.claimIdleMs,
    maxDeliveries: options.maxDeliveries,
  };
}

/** The stream settings every worker takes from the configuration. */
export function streamSettings(config: Config): Pick<StreamWorkerOptions, 'layout' | 'claimIdleMs' | 'maxDeliveries'> {
  return {
    layout: { prefix: config.redisPrefix, partitions: config.redisStreamPartitions },
    claimIdleMs: config.consumerClaimIdleMs,
    maxDeliveries: config.consumerMaxDeliveries,
  };
}
