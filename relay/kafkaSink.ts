import type { Producer } from 'kafkajs';
import { EventHeader } from '../platform/eventEnvelope.js';
import type { OutboxRow } from './outbox.js';

/**
 * Publishes outbox rows to Kafka as Debezium's outbox event router would: key = aggregateid (the order
 * id, so one order's events stay in one partition, in order), value = payload (the event envelope),
 * headers `id` (event id), `eventType` and `aggregatetype`; and, when the event has them, `traceparent` and
 * `correlation-id` (platform/eventEnvelope's EventHeader).
 */
export class KafkaSink {
  readonly name: string;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {
    this.name = `kafka:${topic}`;
  }

  async publish(rows: readonly OutboxRow[]): Promise<void> {
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: rows.map((row) => ({
        key: row.aggregateid,
        value: row.payload,
        headers: {
          [EventHeader.eventId]: row.id,
          [EventHeader.eventType]: row.type,
          [EventHeader.aggregateType]: row.aggregatetype,
          // Ours, beside Debezium's (its router can add them too, from columns): the event's correlation.
          ...(row.traceparent ? { [EventHeader.traceparent]: row.traceparent } : {}),
          ...(row.correlation_id ? { [EventHeader.correlationId]: row.correlation_id } : {}),
        },
      })),
    });
  }
}
