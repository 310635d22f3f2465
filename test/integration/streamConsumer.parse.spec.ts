import { expect } from 'chai';
import { OrderEventType, parseOrderEvent, type OrderEventEnvelope } from '../../domain/events.js';
import { listDeadLetters, PgDeadLetters } from '../../platform/deadLetters.js';
import { createLogger } from '../../platform/logger.js';
import { oneByOne } from '../../platform/messageHandler.js';
import { createRedis, type Redis } from '../../platform/redis.js';
import { StreamConsumer, type StreamMessage } from '../../platform/streamConsumer.js';
import { entryFields, streamForOrder, type StreamLayout } from '../../platform/streams.js';
import { eventually, testConfig, testPool, uniqueId } from '../support/env.js';

describe('order events checked at the stream edge (StreamConsumer parse: parseOrderEvent)', function () {
  this.timeout(30_000);
  const config = testConfig();
  const logger = createLogger('consumer-parse-test', 'silent');
  let layout: StreamLayout;
  let g: string;
  const opened: Redis[] = [];
  const consumers: StreamConsumer<OrderEventEnvelope>[] = [];

  beforeEach(() => {
    layout = { prefix: `test:${uniqueId('parse')}`, partitions: 2 };
    g = uniqueId('group');
  });
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    const redis = connect();
    const keys = await redis.keys(`${layout.prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    for (const client of opened.splice(0)) client.disconnect();
  });

  function connect(): Redis {
    const client = createRedis(config.redisUrl, 'consumer-parse-test');
    opened.push(client);
    return client;
  }

  async function publish(orderId: string, type: string, payload: unknown): Promise<string> {
    const eventId = uniqueId('evt');
    const envelope = { event_id: eventId, order_id: orderId, seq: 1, type, occurred_at: new Date().toISOString(), payload };
    await connect().xadd(
      streamForOrder(layout, g, orderId),
      '*',
      ...entryFields({
        event_id: eventId,
        order_id: orderId,
        seq: '1',
        type,
        pos: `1/${eventId}`,
        envelope: JSON.stringify(envelope),
      }),
    );
    return eventId;
  }

  it('hands the handler typed events, and dead-letters a malformed payload at once, never to the handler', async () => {
    const sagas: string[] = [];
    const c = new StreamConsumer<OrderEventEnvelope>({
      reader: connect(),
      commands: connect(),
      layout,
      group: g,
      parse: parseOrderEvent,
      handle: oneByOne(async ({ event }: StreamMessage<OrderEventEnvelope>) => {
        // No check here: the edge did it.
        if (event.type === OrderEventType.orderCancellationRequested) sagas.push(event.payload.saga_id);
      }),
      logger,
      blockMs: 100,
      claimIdleMs: 200,
      maxDeliveries: 3,
      backoff: { baseMs: 50, maxMs: 400 },
      deadLetters: new PgDeadLetters(testPool(), logger),
    });
    consumers.push(c);
    await c.start();
    const bad = await publish('order-bad', OrderEventType.orderCancellationRequested, { reason: null });
    await publish('order-good', OrderEventType.orderCancellationRequested, { saga_id: 'saga-1', reason: null });
    await eventually('the good event handled', async () => (sagas.length === 1 ? true : undefined));
    const letters = await eventually('the bad one dead-lettered', async () => {
      const list = await listDeadLetters(testPool(), { group: g });
      return list.length === 1 ? list : undefined;
    });
    expect(sagas).to.deep.equal(['saga-1']);
    expect(letters[0]).to.include({ event_id: bad, order_id: 'order-bad', attempts: 1 });
    expect(letters[0]?.error).to.equal('malformed entry: order.cancellation_requested: payload.saga_id missing');
  });
});
