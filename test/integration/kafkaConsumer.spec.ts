import { expect } from 'chai';
import type { Admin, Kafka, Producer } from 'kafkajs';
import type { Backoff } from '../../domain/retryPolicy.js';
import { lazyProducer, listDeadLetters, PgDeadLetters, redriveDeadLetter, redriveTargets } from '../../platform/deadLetters.js';
import { createKafka, ensureTopics } from '../../platform/kafka.js';
import { runKafkaConsumer, type KafkaMessage, type RunningKafkaConsumer } from '../../platform/kafkaConsumer.js';
import { createLogger } from '../../platform/logger.js';
import { oneByOne, type MessageHandler } from '../../platform/messageHandler.js';
import { metricsRegistry } from '../../platform/metrics.js';
import { createRedis, type Redis } from '../../platform/redis.js';
import { eventually, testConfig, testPool, uniqueId } from '../support/env.js';

interface TestEvent {
  readonly event_id: string;
  readonly type: string;
}

/** The test's edge check: a value that is not JSON is malformed. */
const eventOf = (value: unknown): TestEvent | string => (value === undefined ? 'malformed: not JSON' : (value as TestEvent));

describe('Kafka consumer groups (platform/kafkaConsumer): retries with backoff, dead letters after N attempts', function () {
  this.timeout(60_000);
  const config = testConfig();
  const logger = createLogger('kafka-consumer-test', 'silent');
  const deadLetters = new PgDeadLetters(testPool(), logger);
  const backoff: Backoff = { baseMs: 50, maxMs: 200 };
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let redis: Redis;
  let topic: string;
  const running: RunningKafkaConsumer[] = [];
  const topics: string[] = [];

  before(async () => {
    kafka = createKafka(config.kafkaBrokers, uniqueId('kafka-consumer-test'));
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
    redis = createRedis(config.redisUrl, 'kafka-consumer-test');
  });
  after(async () => {
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await Promise.allSettled([admin.disconnect(), producer.disconnect()]);
    redis.disconnect();
  });
  beforeEach(async () => {
    topic = `test-kafka-consumer-${uniqueId('t')}`;
    topics.push(topic);
    await ensureTopics(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }]);
  });
  afterEach(async () => {
    await Promise.allSettled(running.splice(0).map((c) => c.stop()));
  });

  const send = async (orderId: string, type: string, extra: Record<string, unknown> = {}) => {
    const id = uniqueId('evt');
    await producer.send({
      topic,
      messages: [
        {
          key: orderId,
          value: JSON.stringify({ event_id: id, order_id: orderId, type, payload: {}, ...extra }),
          headers: { id, eventType: type },
        },
      ],
    });
    return id;
  };

  async function consume(
    groupId: string,
    handle: MessageHandler<KafkaMessage<TestEvent>>,
    maxAttempts = 3,
  ): Promise<RunningKafkaConsumer> {
    const consumer = await runKafkaConsumer({
      kafka,
      groupId,
      topic,
      logger,
      maxWaitMs: 200,
      maxAttempts,
      backoff,
      random: () => 0.999,
      deadLetters,
      parse: eventOf,
      handle,
    });
    running.push(consumer);
    await consumer.joined;
    return consumer;
  }

  it('dead-letters a record that fails maxAttempts times and moves on: the partition is not blocked; re-drive hands it back to its group only', async () => {
    const group = uniqueId('group');
    const other = uniqueId('other');
    let healthy = false;
    const attempts: number[] = [];
    const handled: string[] = [];
    const otherHandled: string[] = [];
    await consume(
      group,
      oneByOne(async ({ event: { type, event_id } }) => {
        if (type === 'poison' && !healthy) {
          attempts.push(Date.now());
          throw new Error('cannot apply poison');
        }
        handled.push(event_id);
      }),
    );
    await consume(
      other,
      oneByOne(async ({ event }) => otherHandled.push(event.event_id)),
    );
    const poison = await send('order-p', 'poison');
    const after = await send('order-q', 'fine');

    await eventually('the record after the poison handled', async () => (handled.includes(after) ? true : undefined), 20_000);
    const [letter] = await listDeadLetters(testPool(), { group });
    expect(letter).to.include({
      source: group,
      transport: 'kafka',
      stream: topic,
      entry_id: '0:0',
      event_id: poison,
      order_id: 'order-p',
      type: 'poison',
      error: 'cannot apply poison',
      attempts: 3,
      status: 'dead',
    });
    expect(letter?.message).to.deep.include({ key: 'order-p', headers: { id: poison, eventType: 'poison' } });
    expect(attempts).to.have.length(3);
    // Backed off between attempts (ceilings 50 and 100 ms, the jitter fixed at the top).
    expect((attempts[2] as number) - (attempts[1] as number)).to.be.at.least(90);

    healthy = true;
    const producers = lazyProducer(() => kafka.producer());
    try {
      await redriveDeadLetter(testPool(), redriveTargets(redis, producers.get), letter!.id);
    } finally {
      await producers.close();
    }
    await eventually('the re-driven record handled by its group', async () => (handled.includes(poison) ? true : undefined));
    // The other group saw the original once, and skipped the re-drive (named for another group).
    await eventually('the other group read on', async () => (otherHandled.length === 2 ? true : undefined));
    await send('order-z', 'fine');
    await eventually('the other group past the re-drive', async () => (otherHandled.length === 3 ? true : undefined));
    expect(otherHandled.filter((id) => id === poison)).to.have.length(1);
    expect((await listDeadLetters(testPool(), { group }))[0]).to.include({ status: 'redriven', redrives: 1 });
  });

  it('retries a transient infrastructure failure beyond maxAttempts without dead-lettering it', async () => {
    const group = uniqueId('group');
    let outage = 6;
    const handled: string[] = [];
    await consume(
      group,
      oneByOne(async ({ event }) => {
        if (outage-- > 0) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        handled.push(event.event_id);
      }),
    );
    const id = await send('order-t', 'fine');
    await eventually('handled once the database is back', async () => (handled.includes(id) ? true : undefined), 20_000);
    expect(outage).to.equal(-1);
    expect(await listDeadLetters(testPool(), { group })).to.deep.equal([]);
  });

  it('finds the one record of a failing batch that fails alone, dead-letters it, and applies the rest', async () => {
    const group = uniqueId('group');
    const applied = new Set<string>();
    // Several records before the consumer starts, so its first fetch is one batch holding all of them.
    const good = [await send('order-a', 'fine'), await send('order-b', 'fine')];
    const poison = await send('order-p', 'poison');
    good.push(await send('order-c', 'fine'));
    const batches: number[] = [];
    await consume(group, async (messages) => {
      batches.push(messages.length);
      for (const { event } of messages) {
        if (event.type === 'poison') throw new Error('cannot apply poison');
        applied.add(event.event_id);
      }
      return [];
    });
    await eventually('every good record applied', async () => (good.every((id) => applied.has(id)) ? true : undefined), 20_000);
    const letters = await eventually('the poison dead-lettered', async () => {
      const list = await listDeadLetters(testPool(), { group });
      return list.length === 1 ? list : undefined;
    });
    expect(letters[0]).to.include({ event_id: poison, attempts: 3 });
    expect(batches[0]).to.equal(4);
    expect(applied.has(poison)).to.equal(false);
  });

  it('treats failures the handler answers as its batch failing: retried record by record, the one that keeps failing dead-lettered with its error', async () => {
    const group = uniqueId('group');
    const good = [await send('order-a', 'fine'), await send('order-b', 'fine')];
    const poison = await send('order-p', 'poison');
    const deliveries = new Map<string, number[]>();
    await consume(group, async (messages) => {
      for (const { event, deliveries: n } of messages)
        deliveries.set(event.event_id, [...(deliveries.get(event.event_id) ?? []), n]);
      // Answered, not thrown: the poison's failure comes first, another after it.
      return messages
        .filter((m) => m.event.type === 'poison')
        .flatMap((message) => [
          { message, error: new Error('cannot apply poison') },
          { message, error: new Error('a later failure') },
        ]);
    });
    const letters = await eventually('the poison dead-lettered', async () => {
      const list = await listDeadLetters(testPool(), { group });
      return list.length === 1 ? list : undefined;
    });
    expect(letters[0]).to.include({ event_id: poison, error: 'cannot apply poison', attempts: 3 });
    // Each record came in the batch first (delivery 1), then alone; the poison until it was given up on.
    expect(deliveries.get(poison)).to.deep.equal([1, 2, 3, 4]);
    for (const id of good) expect(deliveries.get(id)).to.deep.equal([1, 2]);
  });

  it('dead-letters at once a record `parse` refuses as malformed, never handing it to the handler', async () => {
    const group = uniqueId('group');
    await producer.send({ topic, messages: [{ key: 'k', value: '{not json', headers: { id: 'msg-1' } }] });
    const after = await send('order-m', 'fine');
    const handled: string[] = [];
    await consume(
      group,
      oneByOne(async ({ event }) => handled.push(event.event_id)),
    );
    const letters = await eventually('dead-lettered', async () => {
      const list = await listDeadLetters(testPool(), { group });
      return list.length === 1 ? list : undefined;
    });
    expect(letters[0]).to.include({ event_id: 'msg-1', error: 'malformed: not JSON', attempts: 1, order_id: 'k' });
    expect(letters[0]?.message).to.deep.equal({ key: 'k', headers: { id: 'msg-1' }, value: '{not json' });
    await eventually('the record after it handled', async () => (handled.includes(after) ? true : undefined));
    expect(handled).to.deep.equal([after]);
  });

  it('replaces a member that neither fetches nor joins for stallMs: a new member joins and consumes what follows', async () => {
    const group = uniqueId('stalling');
    const handled: string[] = [];
    const before = await restartsOf(group);
    // A fetch that waits 5 s for records looks, to a watchdog of 1 s, like a member kafkajs left stuck.
    const consumer = await runKafkaConsumer({
      kafka,
      groupId: group,
      topic,
      logger,
      maxWaitMs: 5_000,
      stallMs: 1_000,
      maxAttempts: 3,
      backoff,
      deadLetters,
      parse: eventOf,
      handle: oneByOne(async ({ event }) => handled.push(event.event_id)),
    });
    running.push(consumer);
    await consumer.joined;
    await eventually(
      'the watchdog replaced the member',
      async () => ((await restartsOf(group)) > before ? true : undefined),
      20_000,
    );
    const id = await send('order-w', 'fine');
    await eventually(
      'the record sent after the replacement handled',
      async () => (handled.includes(id) ? true : undefined),
      30_000,
    );
    expect(await listDeadLetters(testPool(), { group })).to.deep.equal([]);
  });
});

async function restartsOf(group: string): Promise<number> {
  const text = await metricsRegistry.getSingleMetricAsString('oms_kafka_consumer_restarts_total');
  const line = text.split('\n').find((l) => l.includes(`group="${group}"`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}
