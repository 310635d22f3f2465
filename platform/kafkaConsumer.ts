import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from './logger.js';

export interface KafkaRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** The value parsed as JSON; undefined when it is not JSON (the handler decides what that means). */
  readonly value: unknown;
}

export interface KafkaConsumerOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topic: string;
  readonly logger: Logger;
  /**
   * One message at a time; or, instead, `batchHandler`. Must be idempotent: a message is delivered
   * again after a crash before its offset was committed.
   */
  readonly handler?: (record: KafkaRecord) => Promise<void>;
  /**
   * Batch mode: the wanted messages one fetch returned for one partition, in order, at once; the
   * offsets are committed after it resolves, and a throw redelivers the whole batch. Idempotent too.
   */
  readonly batchHandler?: (records: readonly KafkaRecord[]) => Promise<void>;
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
  /** Partitions handled side by side; one partition's messages (one key's) always in order. */
  readonly concurrency?: number;
}

export interface RunningKafkaConsumer {
  /** Resolves when this member first joined its group (partitions assigned). */
  readonly joined: Promise<void>;
  stop(): Promise<void>;
}

function headersOf(message: KafkaMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? String(value[0]) : String(value);
  }
  return headers;
}

function toRecord(topic: string, partition: number, message: KafkaMessage, headers: Record<string, string>): KafkaRecord {
  let value: unknown;
  try {
    value = message.value === null ? undefined : JSON.parse(message.value.toString('utf8'));
  } catch {
    value = undefined;
  }
  return { topic, partition, offset: message.offset, key: message.key?.toString('utf8'), headers, value };
}

/**
 * A kafkajs consumer-group member: each message goes to the handler, and its offset is committed only
 * after the handler resolved (at least once). A handler that throws is retried by kafkajs with
 * backoff from the same offset, so nothing is skipped; handlers dedupe by message id.
 */
export async function runKafkaConsumer(options: KafkaConsumerOptions): Promise<RunningKafkaConsumer> {
  if ((options.handler === undefined) === (options.batchHandler === undefined))
    throw new Error(`kafka consumer group ${options.groupId}: give either handler or batchHandler`);
  const consumer = options.kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: 10_000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: options.maxWaitMs ?? 3_000,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5_000 },
  });
  consumer.on(consumer.events.CRASH, (event) =>
    options.logger.warn({ err: event.payload.error, group: options.groupId }, 'kafka consumer crashed; it restarts'),
  );
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
  const wanted = (message: KafkaMessage): Record<string, string> | undefined => {
    const headers = headersOf(message);
    return options.accepts === undefined || options.accepts(headers) ? headers : undefined;
  };
  const { handler, batchHandler } = options;
  if (batchHandler !== undefined) {
    await consumer.run({
      partitionsConsumedConcurrently: options.concurrency ?? 8,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => {
        const records: KafkaRecord[] = [];
        for (const message of batch.messages) {
          const headers = wanted(message);
          if (headers !== undefined) records.push(toRecord(batch.topic, batch.partition, message, headers));
        }
        if (records.length > 0) {
          try {
            await batchHandler(records);
          } catch (error) {
            const { topic, partition } = batch;
            options.logger.warn({ err: error, topic, partition, offset: batch.firstOffset() }, 'batch handler failed; retrying');
            throw error;
          }
        }
        const last = batch.messages[batch.messages.length - 1];
        if (last !== undefined) resolveOffset(last.offset);
        await commitOffsetsIfNecessary();
        await heartbeat();
      },
    });
  } else if (handler !== undefined) {
    await consumer.run({
      partitionsConsumedConcurrently: options.concurrency ?? 8,
      eachMessage: async ({ topic, partition, message }) => {
        const headers = wanted(message);
        if (headers === undefined) return;
        const record = toRecord(topic, partition, message, headers);
        try {
          await handler(record);
        } catch (error) {
          options.logger.warn({ err: error, topic, partition, offset: message.offset }, 'message handler failed; retrying');
          throw error;
        }
      },
    });
  }
  return { joined, stop: () => consumer.disconnect() };
}
