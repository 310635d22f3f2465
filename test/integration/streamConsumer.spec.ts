import { expect } from 'chai';
import { pino } from 'pino';
import type { Backoff } from '../../domain/retryPolicy.js';
import {
  lazyProducer,
  listDeadLetters,
  PgDeadLetters,
  redriveDeadLetter,
  redriveTargets,
  type DeadLetter,
} from '../../platform/deadLetters.js';
import { createLogger } from '../../platform/logger.js';
import { oneByOne, type MessageHandler } from '../../platform/messageHandler.js';
import { createRedis, type Redis } from '../../platform/redis.js';
import { StreamConsumer, type StreamConsumerOptions, type StreamMessage } from '../../platform/streamConsumer.js';
import { entryFields, groupStreams, parseFields, streamForOrder, type StreamLayout } from '../../platform/streams.js';
import { PressureGauge, pressureKey } from '../../platform/pressure.js';
import { eventually, testConfig, testPool, uniqueId } from '../support/env.js';

describe('Redis Streams consumer groups (platform/streamConsumer)', function () {
  this.timeout(30_000);
  const config = testConfig();
  const logger = createLogger('consumer-test', 'silent');
  let layout: StreamLayout;
  let redis: Redis;
  /** Each test's own consumer group: its dead letters (in the shared table) are its own. */
  let g: string;
  const opened: Redis[] = [];
  const consumers: StreamConsumer[] = [];
  /** Fast retries, and the jitter fixed at its ceiling so delays are known. */
  const backoff: Backoff = { baseMs: 50, maxMs: 400 };
  const ceiling = () => 0.999;
  const alerts: Array<Record<string, unknown>> = [];
  const alertLogger = pino({ level: 'warn' }, { write: (line: string) => void alerts.push(JSON.parse(line)) });
  const deadLetters = new PgDeadLetters(testPool(), alertLogger);
  const lettersOf = (group: string) => listDeadLetters(testPool(), { group });

  beforeEach(() => {
    layout = { prefix: `test:${uniqueId('consumer')}`, partitions: 2 };
    redis = connect();
    g = uniqueId('group');
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
      // Each entry alone: a throw fails only its own entry.
      handle: oneByOne(handler),
      logger,
      blockMs: 100,
      claimIdleMs: 200,
      maxDeliveries,
      backoff,
      random: ceiling,
      deadLetters,
    });
    consumers.push(c);
    return c;
  }

  function batchConsumer(
    group: string,
    handle: MessageHandler<StreamMessage>,
    paced: Partial<Pick<StreamConsumerOptions, 'minReadIntervalMs' | 'pressure'>> = {},
  ) {
    const c = new StreamConsumer({
      reader: connect(),
      commands: connect(),
      layout,
      group,
      handle,
      ...paced,
      logger,
      blockMs: 100,
      claimIdleMs: 200,
      maxDeliveries: 3,
      backoff,
      random: ceiling,
      deadLetters,
    });
    consumers.push(c);
    return c;
  }

  /** An event on the streams of `groups` (the test's group by default), as the relay adds it. */
  async function publish(orderId: string, seq: number, type = 'test.event', groups: readonly string[] = [g]): Promise<string> {
    const eventId = uniqueId('evt');
    const envelope = { event_id: eventId, order_id: orderId, seq, type, occurred_at: new Date().toISOString(), payload: {} };
    for (const group of groups) {
      await redis.xadd(
        streamForOrder(layout, group, orderId),
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
    }
    return eventId;
  }

  it('hands one order its events in order, and acknowledges what succeeded', async () => {
    const seen: number[] = [];
    const c = consumer(g, async (m) => {
      seen.push(m.event.seq);
    });
    await c.start();
    for (let seq = 1; seq <= 5; seq++) await publish('order-a', seq);
    await eventually('five handled', async () => (seen.length === 5 ? true : undefined));
    expect(seen).to.deep.equal([1, 2, 3, 4, 5]);
    for (const stream of groupStreams(layout, g)) {
      const pending = (await redis.xpending(stream, g)) as [number];
      expect(pending[0]).to.equal(0);
    }
  });

  it('retries a failed entry after a growing backoff, dead-letters it in PostgreSQL after maxDeliveries with an alert; re-drive puts it back', async () => {
    let healthy = false;
    const attempts = new Map<string, number[]>();
    const handled: string[] = [];
    const c = consumer(
      g,
      async (m) => {
        attempts.set(m.event.event_id, [...(attempts.get(m.event.event_id) ?? []), Date.now()]);
        if (m.event.type === 'poison' && !healthy) throw new Error('cannot handle poison yet');
        handled.push(m.event.event_id);
      },
      undefined,
      4,
    );
    await c.start();
    const poison = await publish('order-p', 1, 'poison');
    const fine = await publish('order-f', 1);

    const letters = await eventually('dead letter', async () => {
      const list = await lettersOf(g);
      return list.length === 1 ? list : undefined;
    });
    expect(letters[0]).to.include({
      event_id: poison,
      order_id: 'order-p',
      type: 'poison',
      error: 'cannot handle poison yet',
      attempts: 4,
      status: 'dead',
      transport: 'redis-stream',
      source: g,
    });
    expect(letters[0]?.envelope).to.include({ event_id: poison, type: 'poison' });
    expect(attempts.get(poison)).to.have.length(4);
    // Backoff ceilings 50, 100, 200 ms (the jitter fixed at the top), not one retry per idle claim.
    const times = attempts.get(poison) as number[];
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    expect(gaps[0]).to.be.within(45, 180);
    expect(gaps[1]).to.be.within(95, 300);
    expect(gaps[2]).to.be.within(195, 600);
    expect(handled).to.deep.equal([fine]);
    const alert = alerts.find((a) => a.dead_letter_id === letters[0]?.id);
    expect(alert).to.include({ level: 50, msg: 'dead letter', group: g, event_id: poison, order_id: 'order-p', attempts: 4 });
    expect(alert?.error).to.equal('cannot handle poison yet');
    for (const stream of groupStreams(layout, g)) {
      const pending = (await redis.xpending(stream, g)) as [number];
      expect(pending[0], 'the dead letter is acknowledged').to.equal(0);
    }

    healthy = true;
    const producer = lazyProducer(() => {
      throw new Error('no Kafka here');
    });
    const redriven = await redriveDeadLetter(testPool(), redriveTargets(redis, producer.get), letters[0]!.id);
    expect(redriven).to.include({ status: 'redriven', redrives: 1 });
    await eventually('re-driven entry handled', async () => (handled.includes(poison) ? true : undefined));
    expect((await lettersOf(g)).map((l: DeadLetter) => l.status)).to.deep.equal(['redriven']);
  });

  it('retries a transient infrastructure failure for as long as it lasts, without counting it towards the dead letters', async () => {
    let outage = 8; // more failures than maxDeliveries (3)
    const seen: number[] = [];
    const c = consumer(g, async (m) => {
      seen.push(m.deliveries);
      if (outage-- > 0) throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    });
    await c.start();
    await publish('order-t', 1);
    await eventually('handled once PostgreSQL is back', async () => (outage < 0 ? true : undefined), 15_000);
    expect(seen).to.have.length(9);
    expect(new Set(seen), 'no delivery counted').to.deep.equal(new Set([1]));
    expect(await lettersOf(g)).to.deep.equal([]);
    for (const stream of groupStreams(layout, g)) {
      const pending = (await redis.xpending(stream, g)) as [number];
      expect(pending[0]).to.equal(0);
    }
  });

  it('keeps an entry waiting for its retry to itself: another member does not take it over', async () => {
    const byMember = new Map<string, number>();
    let failures = 0;
    const slow: Backoff = { baseMs: 1_500, maxMs: 1_500 };
    const make = (name: string) =>
      new StreamConsumer({
        reader: connect(),
        commands: connect(),
        layout,
        group: g,
        consumer: name,
        handle: oneByOne<StreamMessage>(async () => {
          byMember.set(name, (byMember.get(name) ?? 0) + 1);
          if (failures++ === 0) throw new Error('first try fails');
        }),
        logger,
        blockMs: 100,
        claimIdleMs: 200,
        maxDeliveries: 3,
        backoff: slow,
        random: ceiling,
        deadLetters,
      });
    const a = make('member-a');
    const b = make('member-b');
    consumers.push(a, b);
    await a.start();
    await b.start();
    await publish('order-w', 1);
    await eventually('handled on the retry', async () => (failures === 2 ? true : undefined), 10_000);
    // The entry waited 1.5 s (seven idle-claim periods of the other member), and stayed with its member.
    expect([...byMember.values()]).to.deep.equal([2]);
  });

  it("a re-driven entry is for its own group: it goes back to that group's streams, another group does not get it again", async () => {
    const other = uniqueId('other');
    const mine: string[] = [];
    const theirs: string[] = [];
    const c1 = consumer(g, async (m) => {
      mine.push(m.event.event_id);
    });
    const c2 = consumer(other, async (m) => {
      theirs.push(m.event.event_id);
    });
    await c1.start();
    await c2.start();
    const eventId = await publish('order-r', 1, 'test.event', [g, other]);
    await eventually('both groups handled it', async () => (mine.length === 1 && theirs.length === 1 ? true : undefined));
    const letter = await deadLetters.record({
      source: g,
      transport: 'redis-stream',
      stream: streamForOrder(layout, g, 'order-r'),
      entryId: '1-1',
      eventId,
      orderId: 'order-r',
      type: 'test.event',
      message: Object.fromEntries(
        Object.entries({ event_id: eventId, order_id: 'order-r', seq: '1', type: 'test.event', pos: '1/x' }).concat([
          ['envelope', JSON.stringify({ event_id: eventId, order_id: 'order-r', seq: 1, type: 'test.event', payload: {} })],
        ]),
      ),
      error: 'made up',
      attempts: 1,
    });
    const producer = lazyProducer(() => {
      throw new Error('no Kafka here');
    });
    await redriveDeadLetter(testPool(), redriveTargets(redis, producer.get), letter.id);
    await eventually('the group handled it again', async () => (mine.length === 2 ? true : undefined));
    const groups = (await redis.xinfo('GROUPS', streamForOrder(layout, other, 'order-r'))) as unknown[][];
    const info = groups.map((row) => parseFields(row.map(String))).find((row) => row.name === other);
    expect(info, "nothing more on the other group's stream").to.include({ pending: '0', lag: '0', 'entries-read': '1' });
    expect(theirs).to.have.length(1);
  });

  it('dead-letters a malformed entry at once instead of crashing', async () => {
    const c = consumer(g, async () => undefined);
    await c.start();
    await redis.xadd(streamForOrder(layout, g, 'x'), '*', 'order_id', 'x', 'envelope', '{not json');
    const letters = await eventually('dead letter', async () => {
      const list = await lettersOf(g);
      return list.length === 1 ? list : undefined;
    });
    expect(letters[0]?.error).to.match(/malformed entry/);
    expect(letters[0]).to.include({ order_id: 'x', event_id: null, envelope: null });
    expect(letters[0]?.message).to.deep.equal({ order_id: 'x', envelope: '{not json' });
  });

  it("takes over a dead consumer's pending entries once they are idle", async () => {
    // A consumer reads an entry and dies before acknowledging it.
    const stream = streamForOrder(layout, g, 'order-d');
    await redis.xgroup('CREATE', stream, g, '0', 'MKSTREAM');
    const eventId = await publish('order-d', 1);
    await redis.xreadgroup('GROUP', g, 'dead-consumer', 'COUNT', 10, 'STREAMS', stream, '>');

    const handled: StreamMessage[] = [];
    const c = consumer(g, async (m) => {
      handled.push(m);
    });
    await c.start();
    await eventually('claimed and handled', async () => (handled.length === 1 ? true : undefined));
    expect(handled[0]?.event.event_id).to.equal(eventId);
    expect(handled[0]?.deliveries).to.equal(2);
  });

  it('re-reads its own pending entries first when it starts again under the same name', async () => {
    const stream = streamForOrder(layout, g, 'order-r');
    await redis.xgroup('CREATE', stream, g, '0', 'MKSTREAM');
    const eventId = await publish('order-r', 1);
    await redis.xreadgroup('GROUP', g, 'worker-1', 'COUNT', 10, 'STREAMS', stream, '>');
    const handled: string[] = [];
    const c = consumer(
      g,
      async (m) => {
        handled.push(m.event.event_id);
      },
      'worker-1',
    );
    await c.start();
    // start() returns after the pending entries were handled: no waiting needed.
    expect(handled).to.deep.equal([eventId]);
  });

  it('hands what one read returns to one handler, acknowledges what succeeded and retries the rest', async () => {
    for (let seq = 1; seq <= 3; seq++) await publish('order-a', seq);
    await publish('order-b', 1);
    const poison = await publish('order-p', 1, 'poison');
    for (const stream of groupStreams(layout, g)) await redis.xgroup('CREATE', stream, g, '0', 'MKSTREAM');
    const batches: Array<Array<{ order: string; seq: number; deliveries: number }>> = [];
    const c = batchConsumer(g, async (messages) => {
      batches.push(messages.map((m) => ({ order: m.event.order_id, seq: m.event.seq, deliveries: m.deliveries })));
      return messages.filter((m) => m.event.type === 'poison').map((message) => ({ message, error: new Error('poison') }));
    });
    await c.start();

    const letters = await eventually('the failing entry dead-lettered after maxDeliveries', async () => {
      const list = await lettersOf(g);
      return list.length === 1 ? list : undefined;
    });
    expect(letters[0]).to.include({ event_id: poison, error: 'poison', attempts: 3 });
    const first = batches[0] ?? [];
    expect(first).to.have.length(5);
    expect(first.filter((m) => m.order === 'order-a').map((m) => m.seq)).to.deep.equal([1, 2, 3]);
    // Only the failed entry came again (claimed: its delivery count grows), never one that succeeded.
    const later = batches.slice(1).flat();
    expect(later.map((m) => m.order)).to.satisfy((orders: string[]) => orders.every((o) => o === 'order-p'));
    expect(later.map((m) => m.deliveries)).to.deep.equal([2, 3]);
    for (const stream of groupStreams(layout, g)) {
      const pending = (await redis.xpending(stream, g)) as [number];
      expect(pending[0]).to.equal(0);
    }
  });

  it('reads less often while the API raises back pressure: what arrives meanwhile comes as one batch', async () => {
    const key = pressureKey(uniqueId('pressure'));
    await redis.set(key, '1', 'PX', 30_000);
    const batches: number[][] = [];
    const c = batchConsumer(
      g,
      async (messages) => {
        batches.push(messages.map((m) => m.event.seq));
        return [];
      },
      { minReadIntervalMs: 0, pressure: new PressureGauge(redis, key, 600, 0) },
    );
    await c.start();
    await publish('order-q', 1);
    await eventually('the first entry', async () => (batches.length === 1 ? true : undefined));
    for (let seq = 2; seq <= 4; seq++) {
      await publish('order-q', seq);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await eventually('the rest', async () => (batches.flat().length === 4 ? true : undefined));
    expect(batches).to.deep.equal([[1], [2, 3, 4]]);
    await redis.del(key);
  });

  it('recreates its group when Redis lost it', async () => {
    const handled: string[] = [];
    const c = consumer(g, async (m) => {
      handled.push(m.event.event_id);
    });
    await c.start();
    for (const stream of groupStreams(layout, g)) await redis.del(stream);
    const eventId = await publish('order-n', 1);
    await eventually('handled after the group came back', async () => (handled.includes(eventId) ? true : undefined));
  });
});
