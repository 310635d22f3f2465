import type { Consumer, Kafka, KafkaMessage as FetchedMessage } from 'kafkajs';
import { isTransientError, retryDelayMs, type Backoff } from '../domain/retryPolicy.js';

/** The wait between a record's attempts, for callers that must not import domain/ (the WMS sandbox). */
export type KafkaConsumerBackoff = Backoff;
import { DeadLetterTransport, REDRIVE_FOR_HEADER, type DeadLetterSink } from './deadLetters.js';
import { EventHeader, type EventMetadata } from './eventEnvelope.js';
import { inConsumerScope, inServiceScope, metadataFromHeaders } from './traceScope.js';
import type { Logger } from './logger.js';
import type { Message, MessageHandler } from './messageHandler.js';
import { metrics } from './metrics.js';

export interface KafkaRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** The value parsed as JSON; undefined when it is not JSON (the consumer's `parse` decides what that means). */
  readonly value: unknown;
  /** The value as it arrived (UTF-8), kept for a dead letter. */
  readonly rawValue: string | null;
}

/**
 * A record as the handler gets it (platform/messageHandler's shape): its value as `parse` checked it,
 * how many times this member has handed it over (this time included, from 1), and the record itself.
 */
export interface KafkaMessage<E> extends Message<E> {
  readonly record: KafkaRecord;
}

export interface KafkaConsumerOptions<E> {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topic: string;
  readonly logger: Logger;
  /**
   * The edge's check of a wanted record's value, parsed as JSON (undefined when it is not JSON), as the
   * stream consumer's `parse` checks an entry's (e.g. domain/events' parseOrderEvent, an ajv validator):
   * the event typed, or why it is refused. A refused record is malformed (no handler could ever apply it): dead-lettered at once,
   * never handed to `handle`.
   */
  readonly parse: (value: unknown) => E | string;
  /**
   * The well-formed records one fetch returned for one partition, in order, at once; their offsets are
   * committed once they are done. Any failure, answered or thrown, retries the batch (see
   * runKafkaConsumer). Idempotent: a record comes again after a crash before its offset was committed.
   */
  readonly handle: MessageHandler<KafkaMessage<E>>;
  /**
   * Messages this consumer wants, by their headers (e.g. Debezium's `eventType`); the others are
   * skipped unparsed. Every message by default.
   */
  readonly accepts?: (headers: Readonly<Record<string, string>>) => boolean;
  /**
   * How long the broker may hold a fetch while no message is there. A message that arrives ends the
   * wait at once, so this costs no latency; it is how often an idle consumer asks (default 3 s; also how long a stop may wait for
   * the fetch in flight).
   */
  readonly maxWaitMs?: number;
  /**
   * How much a fetch waits to gather (up to maxWaitMs) before the broker answers it (default 1 byte: at
   * once). A background consumer that need not answer within milliseconds asks for more, so under load
   * it takes a few large fetches instead of many small ones (fewer round trips for the broker and for it).
   */
  readonly minBytes?: number;
  /** Partitions handled side by side; one partition's messages (one key's) always in order. */
  readonly concurrency?: number;
  /** Counted failed attempts after which a record is dead-lettered and the partition moves on. */
  readonly maxAttempts: number;
  /** The wait between attempts (exponential, full jitter). */
  readonly backoff: Backoff;
  /** Where records the group gives up on go (PostgreSQL `dead_letters`). */
  readonly deadLetters: DeadLetterSink;
  /** The jitter's random source (tests fix it). */
  readonly random?: () => number;
  /**
   * How long a member may go without fetching or joining (while no delivery is in flight) before it is
   * taken down and a new one joins in its place (default 30 s). A healthy member fetches at least every
   * maxWaitMs.
   */
  readonly stallMs?: number;
}

export interface RunningKafkaConsumer {
  /** Resolves when this member first joined its group (partitions assigned). */
  readonly joined: Promise<void>;
  stop(): Promise<void>;
}

function headersOf(message: FetchedMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? String(value[0]) : String(value);
  }
  return headers;
}

function toRecord(topic: string, partition: number, message: FetchedMessage, headers: Record<string, string>): KafkaRecord {
  const rawValue = message.value === null ? null : message.value.toString('utf8');
  let value: unknown;
  try {
    value = rawValue === null ? undefined : JSON.parse(rawValue);
  } catch {
    value = undefined;
  }
  return { topic, partition, offset: message.offset, key: message.key?.toString('utf8'), headers, value, rawValue };
}

/** What a delivery needs from kafkajs while it waits: keep the membership alive, know when to give up. */
interface DeliveryControl {
  readonly heartbeat: () => Promise<void>;
  /** False once the consumer stops or the partition was taken away (rebalance). */
  readonly active: () => boolean;
  /** The record is done with (handled or dead-lettered): its offset may be committed. */
  readonly done: (record: KafkaRecord) => void;
}

/** A well-formed record and its event, as parsed once per fetch. */
interface Parsed<E> {
  readonly record: KafkaRecord;
  readonly event: E;
}

/** Thrown out of a delivery when the consumer stops mid-wait: the offsets stay, the records come again. */
class DeliveryAbandoned extends Error {
  constructor() {
    super('kafka consumer stopping or partition revoked; the records are fetched again');
    this.name = 'DeliveryAbandoned';
  }
}

/** Each order's metadata for what the handler of these records writes, from their trace headers (none: no scope). */
function recordsMetadata(records: readonly KafkaRecord[], service: string): Map<string, EventMetadata> {
  const byOrder = new Map<string, EventMetadata>();
  for (const record of records) {
    const value = record.value as { order_id?: unknown } | undefined;
    const orderId =
      typeof value === 'object' && value !== null && typeof value.order_id === 'string' ? value.order_id : record.key;
    const metadata = orderId === undefined ? undefined : metadataFromHeaders(record.headers, service);
    if (orderId !== undefined && metadata !== undefined) byOrder.set(orderId, metadata);
  }
  return byOrder;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The fetch of a background consumer (webhooks, analytics): up to 2 s to gather 256 KiB, so under load
 * it takes a few large fetches instead of many small ones (at 200 orders/s that much comes in about a
 * tenth of a second); idle, it asks every 2 s.
 */
export const BACKGROUND_FETCH = Object.freeze({ minBytes: 256 * 1024, maxWaitMs: 2_000 });

/**
 * A kafkajs consumer-group member: the wanted records of each fetch of a partition are checked by
 * `parse` (a malformed one is dead-lettered at once) and go to the handler together, and their offsets
 * are committed only after they were handled (at least once; handlers dedupe by message id). A failure
 * is retried after an exponential backoff with full jitter, heartbeating meanwhile. A transient infrastructure failure (PostgreSQL restarting, a connection refused, a
 * partner not answering) is retried for as long as it lasts without counting; any other failure of a
 * batch has its records tried one by one, and a record that fails maxAttempts times is dead-lettered
 * (PostgreSQL) and passed, so one bad message no longer blocks its partition for ever. A re-driven
 * record (header `redrive-for`) is handled only by the group it names.
 */
export async function runKafkaConsumer<E>(options: KafkaConsumerOptions<E>): Promise<RunningKafkaConsumer> {
  const { logger, groupId, backoff, maxAttempts, deadLetters } = options;
  const random = options.random ?? Math.random;
  let stopping = false;
  // The group's lag on this process's partitions, from what each batch reports (never per record).
  const lagByPartition = new Map<number, number>();
  const lag = metrics.kafkaConsumerLag.labels(groupId, options.topic);
  let resolveJoined: () => void = () => undefined;
  const joined = new Promise<void>((resolve) => (resolveJoined = resolve));
  /** When the member last showed it is alive (joined or began a fetch); deliveries in flight. */
  let lastSign = Date.now();
  let delivering = 0;

  /** One kafkajs member of the group, connected, subscribed and running (see the watchdog below). */
  const startMember = async (consumer: Consumer): Promise<void> => {
    consumer.on(consumer.events.CRASH, (event) =>
      logger.warn({ err: event.payload.error, group: groupId }, 'kafka consumer crashed; it restarts'),
    );
    consumer.on(consumer.events.GROUP_JOIN, () => {
      lastSign = Date.now();
      lagByPartition.clear();
      lag.set(0);
      resolveJoined();
    });
    consumer.on(consumer.events.FETCH_START, () => {
      lastSign = Date.now();
    });
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      lagByPartition.set(payload.partition, Math.max(0, Number(payload.offsetLag)));
      let total = 0;
      for (const behind of lagByPartition.values()) total += behind;
      lag.set(total);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
    await run(consumer);
  };
  const newConsumer = () =>
    options.kafka.consumer({
      groupId,
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: options.maxWaitMs ?? 3_000,
      minBytes: options.minBytes ?? 1,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
  const wanted = (message: FetchedMessage): Record<string, string> | undefined => {
    const headers = headersOf(message);
    const redriveFor = headers[REDRIVE_FOR_HEADER];
    if (redriveFor !== undefined && redriveFor !== groupId) return undefined;
    return options.accepts === undefined || options.accepts(headers) ? headers : undefined;
  };

  /** Waits `ms`, heartbeating; gives up (throws) when the consumer stops or loses the partition. */
  const pause = async (ms: number, control: DeliveryControl) => {
    const until = Date.now() + ms;
    for (;;) {
      if (!control.active()) throw new DeliveryAbandoned();
      const left = until - Date.now();
      if (left <= 0) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(left, 500)));
      await control.heartbeat();
    }
  };

  /** Runs `work` until it succeeds, waiting out transient failures; any other failure is thrown. */
  const untilInfrastructureAnswers = async (work: () => Promise<unknown>, control: DeliveryControl) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await work();
        return;
      } catch (error) {
        if (!isTransientError(error)) throw error;
        logger.warn({ err: error, group: groupId }, 'writing a dead letter failed (infrastructure); retrying');
        await pause(retryDelayMs(backoff, attempt, 0, random), control);
      }
    }
  };

  const deadLetter = (record: KafkaRecord, error: string, attempts: number, firstFailureAt: Date, control: DeliveryControl) => {
    const value = (typeof record.value === 'object' && record.value !== null ? record.value : {}) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return untilInfrastructureAnswers(
      () =>
        deadLetters.record({
          source: groupId,
          transport: DeadLetterTransport.kafka,
          stream: record.topic,
          entryId: `${record.partition}:${record.offset}`,
          eventId: record.headers[EventHeader.eventId] ?? text(value.event_id) ?? text(value.message_id),
          orderId: text(value.order_id) ?? record.key,
          type: record.headers[EventHeader.eventType] ?? text(value.type),
          envelope: record.value,
          message: { key: record.key ?? null, headers: record.headers, value: record.rawValue },
          error,
          attempts,
          firstFailureAt,
        }),
      control,
    );
  };

  /**
   * The handler's writes, log lines and partner calls carry each order's correlation (platform/traceScope);
   * records without trace headers (a partner's) run in our service's scope: the events written take their
   * order's correlation, with us as actor. Failures the handler answers fail the batch with the first
   * one's error, as a throw would: Kafka commits a partition's offsets in order, so the batch is retried
   * (then record by record), which is safe since handlers are idempotent.
   */
  const handle = async (messages: readonly KafkaMessage<E>[]): Promise<void> => {
    const scope = recordsMetadata(
      messages.map((m) => m.record),
      groupId,
    );
    const failures =
      scope.size === 0
        ? await inServiceScope(groupId, () => options.handle(messages))
        : await inConsumerScope(scope, () => options.handle(messages));
    const [first] = failures;
    if (first !== undefined) throw first.error;
  };

  /**
   * Hands records (one partition's, in order) to the handler until they are handled or dead-lettered.
   * Resolves when every record is done with; throws only when the consumer stops mid-way. `delivered`:
   * how many times these records were handed over already (as part of a batch that failed).
   */
  const deliver = async (records: readonly Parsed<E>[], control: DeliveryControl, delivered = 0): Promise<void> => {
    const firstFailureAt = new Date();
    let counted = 0;
    for (let attempt = 1; ; attempt++) {
      let failure: unknown;
      try {
        await handle(records.map(({ record, event }) => ({ event, deliveries: delivered + attempt, record })));
        for (const { record } of records) control.done(record);
        return;
      } catch (error) {
        failure = error;
      }
      if (failure instanceof DeliveryAbandoned) throw failure;
      const first = (records[0] as Parsed<E>).record;
      const transient = isTransientError(failure);
      const context = { err: failure, group: groupId, topic: first.topic, partition: first.partition, offset: first.offset };
      if (!transient) {
        counted++;
        if (records.length > 1) {
          // Which record fails? Each alone, in order (those already applied are no-ops: handlers dedupe).
          logger.warn({ ...context, records: records.length }, 'batch handler failed; handling its records one by one');
          for (const record of records) await deliver([record], control, delivered + attempt);
          return;
        }
        if (counted >= maxAttempts) {
          await deadLetter(first, messageOf(failure), counted, firstFailureAt, control);
          control.done(first);
          return;
        }
      }
      const delay = retryDelayMs(backoff, attempt, 0, random);
      logger.warn(
        { ...context, attempts: counted, transient, retry_in_ms: delay },
        transient ? 'handler failed (infrastructure); retrying without counting' : 'handler failed; retrying after a backoff',
      );
      await pause(delay, control);
    }
  };

  async function run(consumer: Consumer): Promise<void> {
    await consumer.run({
      partitionsConsumedConcurrently: options.concurrency ?? 8,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
        const parsed: Parsed<E>[] = [];
        const malformed: Array<{ readonly record: KafkaRecord; readonly error: string }> = [];
        for (const message of batch.messages) {
          const headers = wanted(message);
          if (headers === undefined) continue;
          const record = toRecord(batch.topic, batch.partition, message, headers);
          const event = options.parse(record.value);
          if (typeof event === 'string') malformed.push({ record, error: event });
          else parsed.push({ record, event });
        }
        if (parsed.length > 0 || malformed.length > 0) {
          const control: DeliveryControl = {
            heartbeat,
            active: () => !stopping && isRunning() && !isStale(),
            done: (record) => resolveOffset(record.offset),
          };
          await delivering_(async () => {
            // Never retried: no handler could apply them. Their offsets go with the batch's last one, below.
            for (const { record, error } of malformed) await deadLetter(record, error, 1, new Date(), control);
            if (parsed.length > 0) await deliver(parsed, control);
          });
        }
        const last = batch.messages[batch.messages.length - 1];
        if (last !== undefined) resolveOffset(last.offset);
        await commitOffsetsIfNecessary();
        await heartbeat();
      },
    });
  }

  /** A delivery in flight is progress, however long it waits on PostgreSQL or a partner. */
  async function delivering_(work: () => Promise<void>): Promise<void> {
    delivering++;
    try {
      await work();
    } finally {
      delivering--;
      lastSign = Date.now();
    }
  }

  // The watchdog. kafkajs can leave a member that never rejoins (seen after a kill while the broker
  // was down: a JoinGroup timed out, then no fetch and no crash for good). A member that neither
  // fetched nor joined for stallMs, with no delivery in flight, is disconnected and a new one joins.
  const stallMs = options.stallMs ?? 30_000;
  let member = newConsumer();
  let generation = 0;
  const launch = (consumer: Consumer): Promise<void> => {
    const mine = ++generation;
    member = consumer;
    lastSign = Date.now();
    return startMember(consumer).catch((error: unknown) => {
      // A member the watchdog replaced may fail on its way out: that is expected.
      if (mine === generation && !stopping) throw error;
    });
  };
  const watchdog = setInterval(
    () => {
      if (stopping || delivering > 0 || Date.now() - lastSign < stallMs) return;
      const stalled = member;
      logger.warn(
        { group: groupId, stalled_ms: Date.now() - lastSign },
        'kafka consumer made no progress; a new member replaces it',
      );
      metrics.kafkaConsumerRestarts.labels(groupId).inc();
      void launch(newConsumer()).catch((error: unknown) =>
        logger.warn({ err: error, group: groupId }, 'kafka consumer could not start; the watchdog tries again'),
      );
      void Promise.race([stalled.disconnect(), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]).catch(
        () => undefined,
      );
    },
    Math.min(5_000, stallMs),
  ).unref();
  try {
    // The first member's start, or a replacement's join if the watchdog had to step in already.
    await Promise.race([launch(member), joined]);
  } catch (error) {
    clearInterval(watchdog);
    throw error;
  }

  return {
    joined,
    stop: () => {
      stopping = true;
      clearInterval(watchdog);
      return member.disconnect();
    },
  };
}
