import type { Kafka } from 'kafkajs';
import { parseOrderEvent } from '../../domain/events.js';
import { FUNNEL_EVENT_TYPES } from '../../domain/funnel.js';
import type { Backoff } from '../../domain/retryPolicy.js';
import type { DeadLetterSink } from '../../platform/deadLetters.js';
import type { Pool } from '../../platform/db.js';
import { BACKGROUND_FETCH, runKafkaConsumer, type RunningKafkaConsumer } from '../../platform/kafkaConsumer.js';
import type { Logger } from '../../platform/logger.js';
import { refreshFunnel } from '../projections/funnel/funnelStore.js';

export interface FunnelConsumerOptions {
  readonly pool: Pool;
  readonly kafka: Kafka;
  readonly topic: string;
  readonly groupId: string;
  readonly logger: Logger;
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  readonly deadLetters: DeadLetterSink;
}

const WANTED: ReadonlySet<string> = new Set(FUNNEL_EVENT_TYPES);

/**
 * Keeps the order funnel (query-service/projections/funnel): a Kafka consumer group of its own on
 * `order-events`, taking only the funnel's event types (by the `eventType` header, the rest skipped
 * unparsed); per fetched batch, the orders it names are folded again from the event log in one read
 * and one write.
 */
export function runFunnelConsumer(options: FunnelConsumerOptions): Promise<RunningKafkaConsumer> {
  return runKafkaConsumer({
    kafka: options.kafka,
    groupId: options.groupId,
    topic: options.topic,
    logger: options.logger,
    ...BACKGROUND_FETCH,
    accepts: (headers) => headers.eventType !== undefined && WANTED.has(headers.eventType),
    // The record's event, checked at this edge; a malformed one is dead-lettered by the consumer.
    parse: parseOrderEvent,
    handle: async (messages) => {
      await refreshFunnel(options.pool, [...new Set(messages.map((m) => m.event.order_id))]);
      return [];
    },
    maxAttempts: options.maxAttempts,
    backoff: options.backoff,
    deadLetters: options.deadLetters,
  });
}
