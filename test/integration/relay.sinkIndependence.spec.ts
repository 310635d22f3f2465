import { expect } from 'chai';
import type { Producer, ProducerRecord } from 'kafkajs';
import { createPool, withTransaction, type Pool } from '../../platform/db.js';
import { appendOrderEvents } from '../../store/eventStore.js';
import { uuidv7 } from '../../platform/ids.js';
import { createLogger } from '../../platform/logger.js';
import { migrateLatest, quoteIdent } from '../../platform/migrate.js';
import { createRedis, type Redis } from '../../platform/redis.js';
import { epochKey, groupStreams, parseFields, type StreamLayout } from '../../platform/streams.js';
import { KafkaSink } from '../../relay/kafkaSink.js';
import { RedisSink } from '../../relay/redisSink.js';
import { Relay } from '../../relay/relay.js';
import { eventually, testConfig, testDatabaseUrl, uniqueId } from '../support/env.js';
import { untypedEvent } from '../support/untypedEvent.js';

/** A Kafka producer whose sends the test holds (a slow broker) or fails (a broker down). */
class ControlledProducer {
  readonly sent: string[] = [];
  failing = false;
  private held: Promise<void> | undefined;
  private release: (() => void) | undefined;

  hold(): void {
    this.held = new Promise((resolve) => (this.release = resolve));
  }

  unhold(): void {
    this.release?.();
    this.held = undefined;
  }

  async send(record: ProducerRecord): Promise<unknown[]> {
    if (this.held) await this.held;
    if (this.failing) throw new Error('broker down (test)');
    for (const message of record.messages) this.sent.push(String(message.headers?.id ?? ''));
    return [];
  }
}

describe('relay: each sink publishes on its own (one slow or failing sink holds back neither the other nor its own recovery)', function () {
  this.timeout(60_000);
  const id = uniqueId('ri')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '_');
  const schema = `relay_${id}`;
  const layout: StreamLayout = { prefix: `test:${id}`, partitions: 2 };
  let pool: Pool;
  let redis: Redis;
  let relay: Relay;
  const producer = new ControlledProducer();

  before(async () => {
    await migrateLatest({ databaseUrl: testDatabaseUrl, schema });
    pool = createPool({ databaseUrl: testDatabaseUrl, schema, max: 4 });
    redis = createRedis(testConfig().redisUrl, `test-${id}`);
    relay = new Relay({
      pool,
      databaseUrl: testDatabaseUrl,
      schema,
      logger: createLogger(`test-${id}`, process.env.TEST_LOG_LEVEL ?? 'silent'),
      // The stub has the one method the sink calls.
      kafka: new KafkaSink(producer as unknown as Producer, 'unused'),
      redis: new RedisSink(redis, layout, { g: 'every' }),
      batchSize: 3,
      pollMs: 100,
      ackScanMs: 100_000,
    });
    await relay.start();
  });

  after(async () => {
    producer.unhold();
    await relay.stop();
    for (const stream of groupStreams(layout, 'g')) await redis.del(stream);
    await redis.del(epochKey(layout));
    await redis.quit();
    await pool.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
    await pool.end();
  });

  const append = async (n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const [event] = await withTransaction(pool, (tx) =>
        appendOrderEvents(tx, uuidv7(), 0, [untypedEvent('test.event', { i })]),
      );
      ids.push(event!.event_id);
    }
    return ids;
  };

  async function onRedis(): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const stream of groupStreams(layout, 'g'))
      for (const [, fields] of await redis.xrange(stream, '-', '+')) ids.add(parseFields(fields).event_id ?? '');
    return ids;
  }

  const checkpointsPast = async (eventId: string): Promise<string[]> =>
    (
      await pool.query<{ sink: string }>(
        `SELECT c.sink FROM relay_checkpoints c JOIN outbox o ON o.id = $1 WHERE (c.tx_id, c.id) >= (o.tx_id, o.id) ORDER BY c.sink`,
        [eventId],
      )
    ).rows.map((r) => r.sink);

  it('publishes to Redis while a Kafka send hangs, and to Kafka once it answers', async () => {
    // Given a Kafka send that does not answer.
    producer.hold();
    // When events commit (more than one batch).
    const ids = await append(7);
    // Then Redis has them all while Kafka has none of them.
    await eventually('all on Redis', async () => {
      const seen = await onRedis();
      return ids.every((e) => seen.has(e)) ? true : undefined;
    });
    expect(producer.sent.filter((e) => ids.includes(e))).to.deep.equal([]);
    // And once Kafka answers, it gets every one, in order.
    producer.unhold();
    await eventually('all on Kafka', async () => (ids.every((e) => producer.sent.includes(e)) ? true : undefined));
    expect(producer.sent.filter((e) => ids.includes(e))).to.deep.equal(ids);
    await eventually('both checkpoints past the last', async () =>
      (await checkpointsPast(ids[ids.length - 1]!)).length === 2 ? true : undefined,
    );
  });

  it('keeps publishing to Redis while Kafka fails, and Kafka catches up with everything after', async () => {
    // Given Kafka down while more events commit than the relay keeps for a sink that is behind
    // (20 batches of 3), so Kafka reads the outbox itself to catch up.
    producer.failing = true;
    const ids = await append(75);
    await eventually('all on Redis', async () => {
      const seen = await onRedis();
      return ids.every((e) => seen.has(e)) ? true : undefined;
    });
    // When it is back, then it gets every event once, in order.
    producer.failing = false;
    await eventually('all on Kafka', async () => (ids.every((e) => producer.sent.includes(e)) ? true : undefined), 20_000);
    expect(producer.sent.filter((e) => ids.includes(e))).to.deep.equal(ids);
    await eventually('both checkpoints past the last', async () =>
      (await checkpointsPast(ids[ids.length - 1]!)).length === 2 ? true : undefined,
    );
  });
});
