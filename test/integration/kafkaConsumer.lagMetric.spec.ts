import { expect } from 'chai';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { PgDeadLetters } from '../../platform/deadLetters.js';
import { createKafka, ensureTopics } from '../../platform/kafka.js';
import { runKafkaConsumer } from '../../platform/kafkaConsumer.js';
import { createLogger } from '../../platform/logger.js';
import { metricsRegistry } from '../../platform/metrics.js';
import { eventually, testConfig, testPool, uniqueId } from '../support/env.js';

describe('Kafka consumer lag metric: what the group still has to read, from each batch', function () {
  this.timeout(60_000);
  const config = testConfig();
  const logger = createLogger('kafka-lag-test', 'silent');
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const topic = `test-kafka-lag-${uniqueId('t')}`;
  const groupId = `test-kafka-lag-${uniqueId('g')}`;

  before(async () => {
    kafka = createKafka(config.kafkaBrokers, uniqueId('kafka-lag-test'));
    admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: 2, replicationFactor: 1 }]);
    producer = kafka.producer();
    await producer.connect();
  });
  after(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await Promise.allSettled([admin.disconnect(), producer.disconnect()]);
  });

  it('reports oms_kafka_consumer_lag for its group and topic, 0 once everything is read', async () => {
    await producer.send({
      topic,
      messages: Array.from({ length: 6 }, (_, i) => ({
        key: `order-${i}`,
        value: JSON.stringify({ event_id: uniqueId('e'), type: 'x' }),
      })),
    });
    let handled = 0;
    const consumer = await runKafkaConsumer({
      kafka,
      groupId,
      topic,
      logger,
      maxWaitMs: 200,
      maxAttempts: 3,
      backoff: { baseMs: 50, maxMs: 200 },
      deadLetters: new PgDeadLetters(testPool(), logger),
      parse: (value) => value as object,
      handle: async (messages) => {
        handled += messages.length;
        return [];
      },
    });
    try {
      await eventually('six records handled', async () => (handled >= 6 ? true : undefined), 30_000);
      const text = await metricsRegistry.getSingleMetricAsString('oms_kafka_consumer_lag');
      const line = text.split('\n').find((l) => l.includes(`group="${groupId}"`) && l.includes(`topic="${topic}"`));
      expect(line, text).to.not.equal(undefined);
      expect(Number(line!.slice(line!.lastIndexOf(' ') + 1))).to.equal(0);
    } finally {
      await consumer.stop();
    }
  });
});
