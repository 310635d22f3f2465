import { expect } from 'chai';
import type { EachMessagePayload } from 'kafkajs';
import { withTransaction } from '../../platform/db.js';
import { appendOrderEvents } from '../../store/eventStore.js';
import { uuidv7 } from '../../platform/ids.js';
import { createKafka } from '../../platform/kafka.js';
import { groupStreams, parseFields } from '../../platform/streams.js';
import { eventually, uniqueId } from '../support/env.js';
import { startTestSystem, type TestSystem } from '../support/system.js';
import { untypedEvent } from '../support/untypedEvent.js';

interface SeenMessage {
  readonly key: string;
  readonly value: Record<string, unknown>;
  readonly headers: Record<string, string>;
}

describe('relay: outbox → Kafka and Redis Streams (contract §7)', function () {
  this.timeout(60_000);
  let system: TestSystem;
  const kafkaSeen = new Map<string, SeenMessage>();
  /** Every message, duplicates included. */
  const kafkaLog: SeenMessage[] = [];
  let consumer: ReturnType<ReturnType<typeof createKafka>['consumer']>;

  before(async () => {
    system = await startTestSystem({ startSagaWorker: false });
    // A group that never acknowledges keeps the projector's streams (every event) untrimmed for these checks.
    for (const stream of groupStreams(system.layout, 'projector'))
      await system.redis.xgroup('CREATE', stream, 'relay-test-observer', '0', 'MKSTREAM').catch(() => undefined);
    consumer = createKafka(system.config.kafkaBrokers, 'relay-test').consumer({ groupId: uniqueId('relay-test') });
    await consumer.connect();
    await consumer.subscribe({ topic: system.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }: EachMessagePayload) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        const value = JSON.parse(String(message.value)) as Record<string, unknown>;
        kafkaSeen.set(headers.id ?? '', { key: String(message.key), value, headers });
        kafkaLog.push({ key: String(message.key), value, headers });
      },
    });
  });
  after(async () => {
    await consumer.disconnect();
    await system.stop();
  });

  async function redisEventIds(): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const stream of groupStreams(system.layout, 'projector')) {
      for (const [, fields] of await system.redis.xrange(stream, '-', '+')) ids.add(parseFields(fields).event_id ?? '');
    }
    return ids;
  }

  const appendOne = (orderId: string, type: string) =>
    withTransaction(
      system.pool,
      async (tx) => (await appendOrderEvents(tx, orderId, 0, [untypedEvent(type, { n: 1 })]))[0]!.event_id,
    );

  it('publishes the message the Debezium outbox router would: key, value and headers', async () => {
    const orderId = uuidv7();
    const eventId = await appendOne(orderId, 'order.placed');
    const message = await eventually('message on Kafka', async () => kafkaSeen.get(eventId));
    expect(message.key).to.equal(orderId);
    expect(message.headers).to.deep.equal({ id: eventId, eventType: 'order.placed', aggregatetype: 'order' });
    expect(message.value).to.deep.include({
      event_id: eventId,
      order_id: orderId,
      seq: 1,
      type: 'order.placed',
      payload: { n: 1 },
    });
    await eventually('entry on Redis', async () => ((await redisEventIds()).has(eventId) ? true : undefined));
  });

  it('relays an old transaction that commits after newer ones, to both sinks', async () => {
    const early = await system.pool.connect();
    try {
      await early.query('BEGIN');
      const [late] = await appendOrderEvents(early, uuidv7(), 0, [untypedEvent('test.late', {})]);
      // A newer transaction commits first. Its event id sorts after the old one's, so a relay that
      // followed ids (or commit order) past it would never come back for the old event.
      const newer = await appendOne(uuidv7(), 'test.newer');
      expect(late!.event_id < newer).to.equal(true);
      await early.query('COMMIT');
      for (const id of [late!.event_id, newer]) {
        await eventually(`${id} on Kafka`, async () => kafkaSeen.get(id));
        await eventually(`${id} on Redis`, async () => ((await redisEventIds()).has(id) ? true : undefined)).catch(
          async (error: unknown) => {
            // Diagnostics for a rare failure seen once in a full run.
            const checkpoints = await system.pool.query(
              'SELECT sink, tx_id::text, id, acked_tx_id::text, acked_id FROM relay_checkpoints',
            );
            const row = await system.pool.query('SELECT tx_id::text, id FROM outbox WHERE id = $1', [id]);
            throw new Error(
              `${String(error)}; stats ${JSON.stringify(system.relay.stats())}; row ${JSON.stringify(row.rows)}; checkpoints ${JSON.stringify(checkpoints.rows)}`,
            );
          },
        );
      }
    } finally {
      early.release();
    }
  });

  it('publishes a commit at once while an older transaction holds the horizon, each event once, then the older one', async () => {
    const holder = await system.pool.connect();
    try {
      // An open transaction with an xid (a slow worker's): every row committed after it is above the horizon.
      await holder.query('BEGIN');
      const [held] = await appendOrderEvents(holder, uuidv7(), 0, [untypedEvent('test.held', {})]);
      const orderId = uuidv7();
      const first = await appendOne(orderId, 'test.ahead');
      const second = await withTransaction(
        system.pool,
        async (tx) => (await appendOrderEvents(tx, orderId, 1, [untypedEvent('test.ahead', {})]))[0]!.event_id,
      );
      for (const id of [first, second]) {
        await eventually(`${id} on Kafka before the holder ends`, async () => kafkaSeen.get(id));
        await eventually(`${id} on Redis before the holder ends`, async () => ((await redisEventIds()).has(id) ? true : undefined));
      }
      expect((await redisEventIds()).has(held!.event_id)).to.equal(false);
      await holder.query('COMMIT');
      await eventually('the held event on Kafka', async () => kafkaSeen.get(held!.event_id));
      await eventually('the held event on Redis', async () => ((await redisEventIds()).has(held!.event_id) ? true : undefined));
      // Published ahead, then met again in order: not published twice.
      await eventually('both sinks past the held event', async () => {
        const rows = await system.pool.query(
          `SELECT c.sink FROM relay_checkpoints c JOIN outbox o ON o.id = $1 WHERE (c.tx_id, c.id) >= (o.tx_id, o.id)`,
          [second],
        );
        return rows.rows.length === 2 ? true : undefined;
      });
      // (Redis entries are trimmed once acknowledged; the topic keeps every message.)
      await eventually('the held event on Kafka', async () => kafkaSeen.get(held!.event_id));
      expect(kafkaLog.filter((m) => m.key === orderId).map((m) => m.value.seq)).to.deep.equal([1, 2]);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
    }
  });

  it('keeps one order in one Kafka partition and one Redis stream, in seq order', async () => {
    const orderId = uuidv7();
    await withTransaction(system.pool, (tx) =>
      appendOrderEvents(tx, orderId, 0, [
        untypedEvent('a', {}),
        untypedEvent('b', {}),
        untypedEvent('c', {}),
      ]),
    );
    const entries = await eventually('three entries', async () => {
      const found: Array<{ stream: string; seq: string }> = [];
      for (const stream of groupStreams(system.layout, 'projector')) {
        for (const [, fields] of await system.redis.xrange(stream, '-', '+')) {
          const f = parseFields(fields);
          if (f.order_id === orderId) found.push({ stream, seq: f.seq ?? '' });
        }
      }
      return found.length === 3 ? found : undefined;
    });
    expect(new Set(entries.map((e) => e.stream)).size).to.equal(1);
    expect(entries.map((e) => e.seq)).to.deep.equal(['1', '2', '3']);
  });

  it('keeps a checkpoint per sink', async () => {
    const eventId = await appendOne(uuidv7(), 'test.checkpoint');
    await eventually('both sinks past the event', async () => {
      const rows = await system.pool.query<{ sink: string }>(
        `SELECT c.sink FROM relay_checkpoints c JOIN outbox o ON o.id = $1 WHERE (c.tx_id, c.id) >= (o.tx_id, o.id)`,
        [eventId],
      );
      return rows.rows.length === 2 ? rows.rows.map((r) => r.sink).sort() : undefined;
    });
  });
});
