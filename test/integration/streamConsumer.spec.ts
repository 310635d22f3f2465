import { expect } from 'chai';
import { createLogger } from '../../platform/logger.js';
import { createRedis, type Redis } from '../../platform/redis.js';
import { StreamConsumer, type BatchFailure, type StreamMessage } from '../../platform/streamConsumer.js';
import { allStreams, entryFields, streamForOrder, type StreamLayout } from '../../platform/streams.js';
import { listDeadLetters, redriveDeadLetters } from '../../scripts/deadLetters.js';
import { eventually, testConfig, uniqueId } from '../support/env.js';

describe('Redis Streams consumer groups (platform/streamConsumer)', function () {
  this.timeout(30_000);
  const config = testConfig();
  const logger = createLogger('consumer-test', 'silent');
  let layout: StreamLayout;
  let redis: Redis;
  const opened: Redis[] = [];
  const consumers: StreamConsumer[] = [];

  beforeEach(() => {
    layout = { prefix: `test:${uniqueId('consumer')}`, partitions: 2 };
    redis = connect();
  });
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    const keys = await redis.keys(`${layout.prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    for (const client of opened.splice(0)) client.disconnect();
  });

  function connect(): Redis {
    const client = createRedis(config.redisUrl, 'consumer-test');
    opened.push(client);
    return client;
  }

  function consumer(
    group: string,
    handler: (m: StreamMessage) => Promise<void>,
    name?: string,
    maxDeliveries = 3,
  ): StreamConsumer {
    const c = new StreamConsumer({
      reader: connect(),
      commands: connect(),
      layout,
      group,
      ...(name === undefined ? {} : { consumer: name }),
      handler,
      logger,
      blockMs: 100,
      claimIdleMs: 200,
      maxDeliveries,
    });
    consumers.push(c);
    return c;
  }

  function batchConsumer(group: string, batchHandler: (messages: readonly StreamMessage[]) => Promise<BatchFailure[]>) {
    const c = new StreamConsumer({
      reader: connect(),
      commands: connect(),
      layout,
      group,
      batchHandler,
      logger,
      blockMs: 100,
      claimIdleMs: 200,
      maxDeliveries: 3,
    });
    consumers.push(c);
    return c;
  }

  async function publish(orderId: string, seq: number, type = 'test.event'): Promise<string> {
    const eventId = uniqueId('evt');
    const envelope = { event_id: eventId, order_id: orderId, seq, type, occurred_at: new Date().toISOString(), payload: {} };
    await redis.xadd(
      streamForOrder(layout, orderId),
      '*',
      ...entryFields({
        event_id: eventId,
        order_id: orderId,
        seq: String(seq),
        type,
        pos: `1/${eventId}`,
        envelope: JSON.stringify(envelope),
      }),
    );
    return eventId;
  }

  it('hands one order its events in order, and acknowledges what succeeded', async () => {
    const seen: number[] = [];
    const c = consumer('g', async (m) => {
      seen.push(m.event.seq);
    });
    await c.start();
    for (let seq = 1; seq <= 5; seq++) await publish('order-a', seq);
    await eventually('five handled', async () => (seen.length === 5 ? true : undefined));
    expect(seen).to.deep.equal([1, 2, 3, 4, 5]);
    for (const stream of allStreams(layout)) {
      const pending = (await redis.xpending(stream, 'g')) as [number];
      expect(pending[0]).to.equal(0);
    }
  });

  it('retries a failed entry, and after maxDeliveries moves it to the dead letters; re-drive puts it back', async () => {
    let healthy = false;
    const attempts = new Map<string, number>();
    const handled: string[] = [];
    const c = consumer('g', async (m) => {
      attempts.set(m.event.event_id, (attempts.get(m.event.event_id) ?? 0) + 1);
      if (m.event.type === 'poison' && !healthy) throw new Error('cannot handle poison yet');
      handled.push(m.event.event_id);
    });
    await c.start();
    const poison = await publish('order-p', 1, 'poison');
    const fine = await publish('order-f', 1);

    const letters = await eventually('dead letter', async () => {
      const list = await listDeadLetters(redis, layout, 'g');
      return list.length === 1 ? list : undefined;
    });
    expect(letters[0]).to.include({ event_id: poison, type: 'poison', reason: 'cannot handle poison yet' });
    expect(attempts.get(poison)).to.equal(3);
    expect(handled).to.deep.equal([fine]);

    healthy = true;
    expect(await redriveDeadLetters(redis, layout, 'g')).to.equal(1);
    await eventually('re-driven entry handled', async () => (handled.includes(poison) ? true : undefined));
    expect(await listDeadLetters(redis, layout, 'g')).to.deep.equal([]);
  });

  it('dead-letters a malformed entry at once instead of crashing', async () => {
    const c = consumer('g', async () => undefined);
    await c.start();
    await redis.xadd(streamForOrder(layout, 'x'), '*', 'order_id', 'x', 'envelope', '{not json');
    const letters = await eventually('dead letter', async () => {
      const list = await listDeadLetters(redis, layout, 'g');
      return list.length === 1 ? list : undefined;
    });
    expect(letters[0]?.reason).to.match(/malformed entry/);
  });

  it("takes over a dead consumer's pending entries once they are idle", async () => {
    // A consumer reads an entry and dies before acknowledging it.
    const stream = streamForOrder(layout, 'order-d');
    await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    const eventId = await publish('order-d', 1);
    await redis.xreadgroup('GROUP', 'g', 'dead-consumer', 'COUNT', 10, 'STREAMS', stream, '>');

    const handled: StreamMessage[] = [];
    const c = consumer('g', async (m) => {
      handled.push(m);
    });
    await c.start();
    await eventually('claimed and handled', async () => (handled.length === 1 ? true : undefined));
    expect(handled[0]?.event.event_id).to.equal(eventId);
    expect(handled[0]?.deliveries).to.equal(2);
  });

  it('re-reads its own pending entries first when it starts again under the same name', async () => {
    const stream = streamForOrder(layout, 'order-r');
    await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    const eventId = await publish('order-r', 1);
    await redis.xreadgroup('GROUP', 'g', 'worker-1', 'COUNT', 10, 'STREAMS', stream, '>');
    const handled: string[] = [];
    const c = consumer(
      'g',
      async (m) => {
        handled.push(m.event.event_id);
      },
      'worker-1',
    );
    await c.start();
    // start() returns after the pending entries were handled: no waiting needed.
    expect(handled).to.deep.equal([eventId]);
  });

  it('in batch mode, hands what one read returns to one handler, acknowledges what succeeded and retries the rest', async () => {
    for (let seq = 1; seq <= 3; seq++) await publish('order-a', seq);
    await publish('order-b', 1);
    const poison = await publish('order-p', 1, 'poison');
    for (const stream of allStreams(layout)) await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    const batches: Array<Array<{ order: string; seq: number; deliveries: number }>> = [];
    const c = batchConsumer('g', async (messages) => {
      batches.push(messages.map((m) => ({ order: m.event.order_id, seq: m.event.seq, deliveries: m.deliveries })));
      return messages.filter((m) => m.event.type === 'poison').map((message) => ({ message, error: new Error('poison') }));
    });
    await c.start();

    const letters = await eventually('the failing entry dead-lettered after maxDeliveries', async () => {
      const list = await listDeadLetters(redis, layout, 'g');
      return list.length === 1 ? list : undefined;
    });
    expect(letters[0]).to.include({ event_id: poison, reason: 'poison' });
    const first = batches[0] ?? [];
    expect(first).to.have.length(5);
    expect(first.filter((m) => m.order === 'order-a').map((m) => m.seq)).to.deep.equal([1, 2, 3]);
    // Only the failed entry came again (claimed: its delivery count grows), never one that succeeded.
    const later = batches.slice(1).flat();
    expect(later.map((m) => m.order)).to.satisfy((orders: string[]) => orders.every((o) => o === 'order-p'));
    expect(later.map((m) => m.deliveries)).to.deep.equal([2, 3]);
    for (const stream of allStreams(layout)) {
      const pending = (await redis.xpending(stream, 'g')) as [number];
      expect(pending[0]).to.equal(0);
    }
  });

  it('recreates its group when Redis lost it', async () => {
    const handled: string[] = [];
    const c = consumer('g', async (m) => {
      handled.push(m.event.event_id);
    });
    await c.start();
    for (const stream of allStreams(layout)) await redis.del(stream);
    const eventId = await publish('order-n', 1);
    await eventually('handled after the group came back', async () => (handled.includes(eventId) ? true : undefined));
  });
});
