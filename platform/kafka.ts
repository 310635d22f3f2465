import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient, Admin, ITopicConfig } from 'kafkajs';
import { installKafkajsIdleFix } from './kafkajsIdleFix.js';

const { Kafka, logLevel } = kafkajs;

/** Every Kafka client of ours is made here, so the idle fix (kafkajsIdleFix.ts) is in place for all of them. */
export function createKafka(brokers: readonly string[], clientId: string): KafkaClient {
  installKafkajsIdleFix();
  return new Kafka({
    clientId,
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { retries: 5, initialRetryTime: 200 },
  });
}

/**
 * Creates missing topics and waits until every partition of each has a leader; existing ones are left
 * as they are. Returns the names created. A broker that has just started may answer that it does not
 * host a partition yet: that is asked again until `deadlineMs`.
 */
export async function ensureTopics(admin: Admin, topics: readonly ITopicConfig[], deadlineMs = 60_000): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  // Leaders are awaited below, with a deadline: kafkajs's own wait (waitForLeaders) gives up early on
  // a busy broker with "This server does not host this topic-partition".
  if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: false });
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
      const led = metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (led) return missing.map((t) => t.topic);
    } catch (error) {
      if (Date.now() > until) throw error;
    }
    if (Date.now() > until)
      throw new Error(`topics ${topics.map((t) => t.topic).join(', ')} have no leaders after ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Topics this system owns, with their partition counts (contract §7: order-events has 64). */
export function systemTopics(config: {
  orderEventsTopic: string;
  wmsEventsTopic: string;
  kafkaTopicPartitions: number;
}): ITopicConfig[] {
  return [
    { topic: config.orderEventsTopic, numPartitions: config.kafkaTopicPartitions, replicationFactor: 1 },
    // The WMS answers are keyed by order id too; fewer partitions suit their volume.
    { topic: config.wmsEventsTopic, numPartitions: WMS_TOPIC_PARTITIONS, replicationFactor: 1 },
  ];
}

export const WMS_TOPIC_PARTITIONS = 8;
