import { hostname } from 'node:os';
import { isTransientError, retryDelayMs, type Backoff } from '../domain/retryPolicy.js';
import { consumerBackoff, type Config } from './config.js';
import { DeadLetterTransport, PgDeadLetters, REDRIVE_FOR_FIELD, type DeadLetterSink } from './deadLetters.js';
import type { Pool } from './db.js';
import type { EventEnvelope } from './eventEnvelope.js';
import type { Logger } from './logger.js';
import type { Redis } from './redis.js';
import { groupStreams, parseFields, type StreamLayout } from './streams.js';
import { PressureGauge, pressureKey } from './pressure.js';
import { Wakeup } from './wakeup.js';
import { consumedMetadata, inConsumerScope } from './traceScope.js';
import type { HandlingFailure, Message, MessageHandler } from './messageHandler.js';

export type { EventEnvelope };

/** A stream entry as the handler gets it: its event (typed by the consumer's `parse`), and where it is. */
export interface StreamMessage<E extends EventEnvelope = EventEnvelope> extends Message<E> {
  readonly stream: string;
  readonly id: string;
}

export interface StreamConsumerOptions<E extends EventEnvelope = EventEnvelope> {
  /** Blocking reads hold their connection, so the consumer takes two: one to read, one for everything else. */
  readonly reader: Redis;
  readonly commands: Redis;
  readonly layout: StreamLayout;
  readonly group: string;
  readonly consumer?: string;
  /**
   * Every wanted entry of a read (or of a claim) goes to this handler at once (platform/messageHandler),
   * and the ones that succeeded are acknowledged with one XACK per stream. A batch waits for earlier
   * batches holding entries of the same orders; other batches may run beside it (up to maxInFlight entries).
   */
  readonly handle: MessageHandler<StreamMessage<E>>;
  /**
   * The edge's check of an entry's event (e.g. domain/events' parseOrderEvent): the event typed, or why
   * it is refused — such an entry is dead-lettered at once, as a malformed one. Without it, the envelope as read.
   */
  readonly parse?: (envelope: EventEnvelope) => E | string;
  /** Event types the handler reacts to; entries of other types are acknowledged at once, unhandled. */
  readonly handles?: (eventType: string) => boolean;
  readonly logger: Logger;
  readonly batchSize?: number;
  readonly blockMs?: number;
  /** A pending entry idle this long is another consumer's that died: it is claimed (a delivery that counts). */
  readonly claimIdleMs: number;
  /** Failed deliveries (transient infrastructure failures not counted) after which an entry is dead-lettered. */
  readonly maxDeliveries: number;
  /** How long a failed entry waits before it is tried again (exponential, full jitter). */
  readonly backoff: Backoff;
  /** Where entries the group gives up on go (PostgreSQL `dead_letters`). */
  readonly deadLetters: DeadLetterSink;
  /** The jitter's random source (tests fix it). */
  readonly random?: () => number;
  /** Entries handled or waiting for a retry at once (different orders run side by side; one order's entries in turn). */
  readonly maxInFlight?: number;
  /**
   * Batches handled at once (default 4). While all are busy the consumer does not read,
   * so entries gather into bigger batches under load, and one slow batch does not stop the others.
   */
  readonly maxBatchesInFlight?: number;
  /**
   * Reads of a busy consumer are at least this far apart (default 0): entries that arrive meanwhile are
   * read together, so a stage does one round of statements for many orders instead of one per order.
   * A read after an idle wait (BLOCK) is not delayed: the first entry of a burst is handled at once.
   */
  readonly minReadIntervalMs?: number;
  /** The API's back pressure: while it is up, reads are further apart (platform/pressure). */
  readonly pressure?: PressureGauge;
}

type RawEntry = [id: string, fields: string[]];
type RawRead = Array<[stream: string, entries: RawEntry[]]> | null;

/** An entry read or claimed, with how many times the group has delivered it. */
interface PendingEntry {
  readonly stream: string;
  readonly entry: RawEntry;
  readonly deliveries: number;
}

/** What this member remembers of an entry that failed and is still its own. */
interface RetryState {
  /** Failures in a row, transient or not: the backoff's exponent. */
  attempts: number;
  readonly firstFailureAt: Date;
  lastError: string;
}

/** An entry waiting here for its retry. */
interface Waiting {
  readonly stream: string;
  readonly id: string;
  readonly dueAt: number;
  /** The retry counts as a delivery (the failure was the message's); a transient failure's does not. */
  readonly counts: boolean;
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

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
const keyOf = (stream: string, id: string) => `${stream}/${id}`;

/**
 * A Redis Streams consumer-group member. On start it re-reads its own pending entries; then it reads
 * new entries (XREADGROUP). What one read or claim returns goes to the handler as one batch
 * (platform/messageHandler), and the entries it handled are acknowledged. A batch waits for the
 * batches in flight that hold entries of its orders (one order's entries in turn); other batches run
 * beside it, up to maxBatchesInFlight, so one slow batch does not hold up the orders read after it.
 *
 * A failed entry stays pending and this member retries it after an exponential backoff with full
 * jitter (domain/retryPolicy), keeping it claimed meanwhile so no other member takes it. A failure of
 * the infrastructure (PostgreSQL restarting, a connection refused, Redis away, a partner not
 * answering) is retried without counting, for as long as it lasts; any other failure counts as a
 * delivery, and after maxDeliveries the entry is dead-lettered (PostgreSQL, then acknowledged). A
 * malformed entry is dead-lettered at once. Entries a dead member left pending are claimed once idle
 * for claimIdleMs (XAUTOCLAIM), which counts as a delivery.
 */
export class StreamConsumer<E extends EventEnvelope = EventEnvelope> {
  readonly consumer: string;
  private running = false;
  private readonly streams: string[];
  private loops: Array<Promise<void>> = [];
  private claimTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryTimerAt = Infinity;
  private retrying: Promise<void> = Promise.resolve();
  private handled = 0;
  /** The last entry queued per order: the next one of that order waits for it. */
  private readonly orderTails = new Map<string, Promise<void>>();
  /** Entries being handled here, by stream/id: a claim of them is skipped. */
  private readonly inFlight = new Set<string>();
  /** Entries that failed here, by stream/id, waiting for their retry (still pending, ours). */
  private readonly waiting = new Map<string, Waiting>();
  /** Entries that failed here and are still ours, by stream/id. */
  private readonly failures = new Map<string, RetryState>();
  private readonly slotFreed = new Wakeup();
  private batchesInFlight = 0;
  private readonly random: () => number;

  constructor(private readonly options: StreamConsumerOptions<E>) {
    this.consumer = options.consumer ?? `${hostname()}-${process.pid}-${options.group}`;
    this.streams = groupStreams(options.layout, options.group);
    this.random = options.random ?? Math.random;
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
    clearTimeout(this.retryTimer);
    // The blocking read returns within blockMs; then the entries in flight finish. Entries waiting for
    // a retry stay pending: the next member (or this one started again) takes them.
    await Promise.allSettled(this.loops);
    await this.retrying;
    await Promise.allSettled([...this.orderTails.values()]);
    this.waiting.clear();
    this.failures.clear();
  }

  /** Entries this member holds: being handled, or waiting for a retry. */
  private isHeld(stream: string, id: string): boolean {
    const key = keyOf(stream, id);
    return this.inFlight.has(key) || this.waiting.has(key);
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
      const entries = (read ?? [])
        .flatMap(([stream, list]) => list.map((entry) => ({ stream, entry })))
        .filter(({ stream, entry }) => !this.isHeld(stream, entry[0]));
      if (entries.length === 0) return;
      const before = this.handled;
      const counts = await this.deliveriesOf(entries.map(({ stream, entry }) => ({ stream, id: entry[0] })));
      await this.dispatchBatch(
        entries.map(({ stream, entry }) => ({ stream, entry, deliveries: counts.get(keyOf(stream, entry[0])) ?? 1 })),
      );
      if (this.handled === before) return; // all failed again: they wait for their retries
    }
  }

  /** How many times the group has delivered each entry (XPENDING; one write for all, pipelined). */
  private async deliveriesOf(entries: ReadonlyArray<{ stream: string; id: string }>): Promise<Map<string, number>> {
    const { commands, group } = this.options;
    const infos = await Promise.all(
      entries.map(
        ({ stream, id }) => commands.xpending(stream, group, id, id, 1) as Promise<Array<[string, string, number, number]>>,
      ),
    );
    return new Map(entries.map(({ stream, id }, i) => [keyOf(stream, id), infos[i]?.[0]?.[3] ?? 1]));
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
    const minInterval = this.options.minReadIntervalMs ?? 0;
    let lastFullRead = -Infinity;
    while (this.running) {
      try {
        const interval = (await this.options.pressure?.readIntervalMs(minInterval)) ?? minInterval;
        const linger = lastFullRead + interval - performance.now();
        if (linger > 0) await new Promise((resolve) => setTimeout(resolve, linger));
        const held = this.inFlight.size + this.waiting.size;
        const batchesFull = this.batchesInFlight >= (this.options.maxBatchesInFlight ?? 4);
        // While entries wait for retries (an outage), they take their slots: reading stops rather than
        // piling up entries that would fail the same way.
        if (held >= maxInFlight || batchesFull) {
          await this.slotFreed.wait(100);
          continue;
        }
        const count = Math.min(this.options.batchSize ?? 100, maxInFlight - held);
        const read = await this.readGroup(reader, '>', count, this.options.blockMs ?? 1_000);
        if (read === null) {
          lastFullRead = -Infinity;
          continue;
        }
        lastFullRead = performance.now();
        const wanted: PendingEntry[] = [];
        for (const [stream, list] of read) {
          const skipped: string[] = [];
          for (const entry of list) {
            if (this.wants(entry)) wanted.push({ stream, entry, deliveries: 1 });
            else skipped.push(entry[0]);
          }
          if (skipped.length > 0) await this.options.commands.xack(stream, group, ...skipped);
        }
        if (wanted.length > 0) void this.dispatchBatch(wanted);
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
        await this.keepWaitingClaimed();
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
   * Entries waiting here for a retry are claimed again without counting a delivery (XCLAIM JUSTID
   * resets their idle time), every claimIdleMs / 2, so no other member takes them over meanwhile. One
   * that is no longer pending (acknowledged elsewhere, trimmed) is forgotten.
   */
  private async keepWaitingClaimed(): Promise<void> {
    const byStream = Map.groupBy(this.waiting.values(), (w) => w.stream);
    await Promise.all(
      [...byStream].map(async ([stream, waiting]) => {
        const ids = waiting.map((w) => w.id);
        const kept = new Set(await this.reclaim(stream, ids));
        for (const id of ids) if (!kept.has(id)) this.forget(stream, id);
      }),
    );
  }

  /** XCLAIM JUSTID of our own entries: ours again, idle time reset, delivery count unchanged. Answers the ids still pending. */
  private async reclaim(stream: string, ids: readonly string[]): Promise<string[]> {
    const { commands, group } = this.options;
    return (await commands.xclaim(stream, group, this.consumer, 0, ...ids, 'JUSTID')) as string[];
  }

  private forget(stream: string, id: string): void {
    const key = keyOf(stream, id);
    this.waiting.delete(key);
    this.failures.delete(key);
    this.slotFreed.wake();
  }

  /**
   * Takes over entries idle for claimIdleMs (a dead consumer's) and retries them. Ids are claimed first
   * without counting a delivery (JUSTID), so entries held here are left alone; the others are claimed
   * for real, which counts the delivery.
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
      const idle = ids.filter((id) => !this.isHeld(stream, id));
      if (idle.length > 0) {
        const entries = (await commands.xclaim(stream, group, this.consumer, 0, ...idle)) as RawEntry[];
        const counts = await this.deliveriesOf(entries.map((entry) => ({ stream, id: entry[0] })));
        await this.dispatchBatch(
          entries.map((entry) => ({ stream, entry, deliveries: counts.get(keyOf(stream, entry[0])) ?? 1 })),
        );
      }
    } while (cursor !== '0-0' && this.running);
  }

  /** Whether this group handles the entry: its type is wanted, and a re-drive (if it is one) is for this group. */
  private wants(entry: RawEntry): boolean {
    const fields = parseFields(entry[1]);
    const redriveFor = fields[REDRIVE_FOR_FIELD];
    if (redriveFor !== undefined && redriveFor !== this.options.group) return false;
    const type = fields.type;
    return this.options.handles === undefined || type === undefined || this.options.handles(type);
  }

  /**
   * Queues a batch behind the entries in flight of the same orders (so one order's entries are still
   * handled in turn); resolves when it has been handled.
   */
  private dispatchBatch(entries: readonly PendingEntry[]): Promise<void> {
    const fresh = entries.filter(({ stream, entry }) => !this.isHeld(stream, entry[0]));
    if (fresh.length === 0) return Promise.resolve();
    for (const { stream, entry } of fresh) this.inFlight.add(keyOf(stream, entry[0]));
    this.batchesInFlight++;
    const orderIds = [...new Set(fresh.map(({ entry }) => parseFields(entry[1]).order_id ?? entry[0]))];
    const previous = Promise.all(orderIds.map((orderId) => this.orderTails.get(orderId)));
    const done: Promise<void> = previous
      .then(() => this.handleBatch(fresh))
      .catch((error: unknown) => this.options.logger.error({ err: error, entries: fresh.length }, 'stream batch handling failed'))
      .finally(() => {
        for (const { stream, entry } of fresh) this.inFlight.delete(keyOf(stream, entry[0]));
        this.batchesInFlight--;
        for (const orderId of orderIds) if (this.orderTails.get(orderId) === done) this.orderTails.delete(orderId);
        this.slotFreed.wake();
      });
    for (const orderId of orderIds) this.orderTails.set(orderId, done);
    return done;
  }

  /**
   * Dead-letters what can never succeed (too many deliveries, malformed), hands the rest to the batch
   * handler, acknowledges what succeeded with one XACK per stream, and schedules the retries.
   */
  private async handleBatch(entries: readonly PendingEntry[]): Promise<void> {
    const { commands, group } = this.options;
    const admitted: Array<{ pending: PendingEntry; message: StreamMessage<E> }> = [];
    for (const pending of entries) {
      const message = await this.admit(pending);
      if (message !== undefined) admitted.push({ pending, message });
    }
    if (admitted.length === 0) return;
    let failures: readonly HandlingFailure<StreamMessage<E>>[];
    try {
      // The handler's writes, log lines and partner calls carry each order's correlation (platform/traceScope).
      const scope = consumedMetadata(
        admitted.map((a) => a.message.event),
        this.options.group,
      );
      failures = await inConsumerScope(scope, () => this.options.handle(admitted.map((a) => a.message)));
    } catch (error) {
      failures = admitted.map(({ message }) => ({ message, error }));
    }
    const failed = new Map(failures.map((f) => [f.message, f.error]));
    const succeeded = Map.groupBy(
      admitted.flatMap(({ message }) => (failed.has(message) ? [] : [message])),
      (message) => message.stream,
    );
    try {
      for (const [stream, messages] of succeeded) await commands.xack(stream, group, ...messages.map((m) => m.id));
      for (const [stream, messages] of succeeded) for (const { id } of messages) this.failures.delete(keyOf(stream, id));
      this.handled += admitted.length - failed.size;
    } catch (error) {
      // Handled, but not acknowledged (Redis away): retried like a transient failure (handlers are idempotent).
      for (const { message } of admitted) if (!failed.has(message)) failures = [...failures, { message, error }];
    }
    const byMessage = new Map(admitted.map((a) => [a.message, a.pending]));
    await this.retryOrDeadLetter(
      failures.map(({ message, error }) => ({ pending: byMessage.get(message) as PendingEntry, message, error })),
    );
  }

  /**
   * An entry as a message for the handler, or undefined when it can never succeed: delivered too often
   * (its member died handling it, again and again), or malformed — dead-lettered, never crashing the worker.
   */
  private async admit(pending: PendingEntry): Promise<StreamMessage<E> | undefined> {
    const { stream, entry, deliveries } = pending;
    const [id, rawFields] = entry;
    if (deliveries > this.options.maxDeliveries) {
      const reason = this.failures.get(keyOf(stream, id))?.lastError ?? 'too many deliveries';
      await this.deadLetterOrWait(pending, reason, deliveries - 1);
      return undefined;
    }
    const envelope = parseEnvelope(parseFields(rawFields));
    const { parse } = this.options;
    const event = typeof envelope === 'string' || parse === undefined ? (envelope as E | string) : parse(envelope);
    if (typeof event !== 'string') return { stream, id, deliveries, event };
    await this.deadLetterOrWait(pending, `malformed entry: ${event}`, deliveries);
    return undefined;
  }

  /**
   * After failures: an entry that failed for the message's sake maxDeliveries times is dead-lettered;
   * the others wait here for their retry, one backoff for the lot (they failed together, they come
   * back together: a batch stays a batch).
   */
  private async retryOrDeadLetter(
    failed: ReadonlyArray<{ pending: PendingEntry; message: StreamMessage<E>; error: unknown }>,
  ): Promise<void> {
    const toWait: Array<{ pending: PendingEntry; counts: boolean }> = [];
    let attempts = 0;
    for (const { pending, message, error } of failed) {
      const key = keyOf(message.stream, message.id);
      const transient = isTransientError(error);
      const state = this.failures.get(key) ?? { attempts: 0, firstFailureAt: new Date(), lastError: '' };
      state.attempts++;
      state.lastError = messageOf(error);
      this.failures.set(key, state);
      const { event } = message;
      const context = {
        err: error,
        event_id: event.event_id,
        order_id: event.order_id,
        type: event.type,
        deliveries: message.deliveries,
        transient,
      };
      if (!transient && message.deliveries >= this.options.maxDeliveries) {
        this.options.logger.warn(context, 'handler failed for the last time; dead-lettering the entry');
        await this.deadLetterOrWait(pending, state.lastError, message.deliveries);
        continue;
      }
      this.options.logger.warn(
        context,
        transient ? 'handler failed (infrastructure); retrying without counting' : 'handler failed; retrying after a backoff',
      );
      attempts = Math.max(attempts, state.attempts);
      toWait.push({ pending, counts: !transient });
    }
    if (toWait.length > 0) this.wait(toWait, retryDelayMs(this.options.backoff, attempts, 0, this.random));
  }

  /** Writes the dead letter (PostgreSQL), then acknowledges the entry; if the write fails, the entry waits and is tried again. */
  private async deadLetterOrWait(pending: PendingEntry, reason: string, attempts: number): Promise<void> {
    const { stream, entry } = pending;
    const [id, rawFields] = entry;
    const { commands, group, deadLetters, logger } = this.options;
    const fields = parseFields(rawFields);
    const envelope = parseEnvelope(fields);
    const key = keyOf(stream, id);
    try {
      await deadLetters.record({
        source: group,
        transport: DeadLetterTransport.redisStream,
        stream,
        entryId: id,
        eventId: fields.event_id,
        orderId: fields.order_id,
        type: fields.type,
        envelope: typeof envelope === 'string' ? undefined : envelope,
        message: fields,
        error: reason,
        attempts,
        firstFailureAt: this.failures.get(key)?.firstFailureAt,
      });
      await commands.xack(stream, group, id);
      this.failures.delete(key);
    } catch (error) {
      const state = this.failures.get(key) ?? { attempts: 0, firstFailureAt: new Date(), lastError: reason };
      state.attempts++;
      this.failures.set(key, state);
      logger.warn(
        { err: error, stream, entry_id: id, event_id: fields.event_id },
        'dead letter not written; the entry waits and is tried again',
      );
      this.wait([{ pending, counts: false }], retryDelayMs(this.options.backoff, state.attempts, 0, this.random));
    }
  }

  private wait(entries: ReadonlyArray<{ pending: PendingEntry; counts: boolean }>, delayMs: number): void {
    if (!this.running) return;
    const dueAt = Date.now() + delayMs;
    for (const { pending, counts } of entries) {
      const id = pending.entry[0];
      this.waiting.set(keyOf(pending.stream, id), { stream: pending.stream, id, dueAt, counts });
    }
    this.armRetryTimer();
  }

  private armRetryTimer(): void {
    if (!this.running || this.waiting.size === 0) return;
    const next = Math.min(...[...this.waiting.values()].map((w) => w.dueAt));
    if (next >= this.retryTimerAt) return;
    clearTimeout(this.retryTimer);
    this.retryTimerAt = next;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimerAt = Infinity;
        // One retry round at a time: two would claim (and count) the same entries twice.
        this.retrying = this.retrying
          .then(() => this.retryDue())
          .catch((error: unknown) => this.options.logger.warn({ err: error }, 'retrying entries failed; trying again later'))
          .finally(() => this.armRetryTimer());
      },
      Math.max(0, next - Date.now()),
    );
  }

  /**
   * The entries whose retry is due, taken back and handled again: a counted retry claims the entry for
   * real (the group counts a delivery), a transient one claims it with JUSTID and reads it (no count).
   */
  private async retryDue(): Promise<void> {
    if (!this.running) return;
    const now = Date.now();
    const due = [...this.waiting.values()].filter((w) => w.dueAt <= now + 5);
    if (due.length === 0) return;
    const { commands, group } = this.options;
    const byStream = Map.groupBy(due, (w) => w.stream);
    const entries: Array<{ stream: string; entry: RawEntry }> = [];
    try {
      for (const [stream, list] of byStream) {
        const counted = list.filter((w) => w.counts).map((w) => w.id);
        const uncounted = list.filter((w) => !w.counts).map((w) => w.id);
        const claimed =
          counted.length > 0 ? ((await commands.xclaim(stream, group, this.consumer, 0, ...counted)) as RawEntry[]) : [];
        const kept = uncounted.length > 0 ? await this.reclaim(stream, uncounted) : [];
        const read = await Promise.all(kept.map((id) => commands.xrange(stream, id, id)));
        for (const entry of [...claimed, ...read.flat()]) entries.push({ stream, entry: entry as RawEntry });
        const found = new Set(entries.filter((e) => e.stream === stream).map((e) => e.entry[0]));
        // No longer pending (acknowledged elsewhere) or gone from the stream (trimmed): nothing to retry.
        for (const w of list) if (!found.has(w.id)) this.forget(stream, w.id);
      }
    } catch (error) {
      // Redis away: everything due waits again, as a transient failure (not counted).
      this.options.logger.warn({ err: error, entries: due.length }, 'taking back entries to retry failed; retrying later');
      const attempts = Math.max(...due.map((w) => this.failures.get(keyOf(w.stream, w.id))?.attempts ?? 1));
      const dueAt = Date.now() + retryDelayMs(this.options.backoff, attempts, 0, this.random);
      for (const w of due) this.waiting.set(keyOf(w.stream, w.id), { ...w, dueAt });
      return;
    }
    for (const { stream, entry } of entries) this.waiting.delete(keyOf(stream, entry[0]));
    if (entries.length === 0) return;
    const counts = await this.deliveriesOf(entries.map(({ stream, entry }) => ({ stream, id: entry[0] }))).catch(
      () => new Map<string, number>(),
    );
    void this.dispatchBatch(
      entries.map(({ stream, entry }) => ({ stream, entry, deliveries: counts.get(keyOf(stream, entry[0])) ?? 1 })),
    );
  }
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
  readonly backoff: Backoff;
  /** Where the worker's dead letters go (table `dead_letters`), and what its handlers write to. */
  readonly pool: Pool;
  /** The member's name in its group; by default host, pid and group. */
  readonly consumerName?: string;
  /** See StreamConsumerOptions.minReadIntervalMs. */
  readonly minReadIntervalMs?: number;
  /** While the API's back pressure is up (platform/pressure), reads are at least this far apart (0: ignored). */
  readonly pressureReadIntervalMs?: number;
}

/** A worker's options as a consumer-group member's, for `group`. */
export function memberOf(
  options: StreamWorkerOptions,
  group: string,
): Omit<StreamConsumerOptions, 'handle' | 'handles' | 'parse'> {
  return {
    reader: options.reader,
    commands: options.commands,
    layout: options.layout,
    group,
    ...(options.consumerName === undefined ? {} : { consumer: options.consumerName }),
    ...(options.minReadIntervalMs === undefined ? {} : { minReadIntervalMs: options.minReadIntervalMs }),
    ...((options.pressureReadIntervalMs ?? 0) > 0
      ? { pressure: new PressureGauge(options.commands, pressureKey(options.layout.prefix), options.pressureReadIntervalMs ?? 0) }
      : {}),
    logger: options.logger,
    claimIdleMs: options.claimIdleMs,
    maxDeliveries: options.maxDeliveries,
    backoff: options.backoff,
    deadLetters: new PgDeadLetters(options.pool, options.logger),
  };
}

/** The stream settings every worker takes from the configuration. */
export function streamSettings(
  config: Config,
): Pick<
  StreamWorkerOptions,
  'layout' | 'claimIdleMs' | 'maxDeliveries' | 'backoff' | 'minReadIntervalMs' | 'pressureReadIntervalMs'
> {
  return {
    layout: { prefix: config.redisPrefix, partitions: config.redisStreamPartitions },
    minReadIntervalMs: config.consumerMinReadIntervalMs,
    pressureReadIntervalMs: config.pressureReadIntervalMs,
    claimIdleMs: config.consumerClaimIdleMs,
    maxDeliveries: config.consumerMaxDeliveries,
    backoff: consumerBackoff(config),
  };
}
