import { expect } from 'chai';
import type { EachMessagePayload } from 'kafkajs';
import { createKafka } from '../../platform/kafka.js';
import { groupStreams, parseFields } from '../../platform/streams.js';
import { parseTraceparent } from '../../platform/traceparent.js';
import { newYorkAddress, orderBody } from '../support/catalog.js';
import { eventually, uniqueId } from '../support/env.js';
import { startTestSystem, type TestSystem } from '../support/system.js';

interface SeenMessage {
  readonly headers: Record<string, string>;
  readonly value: { event_id?: string; metadata?: { correlation_id?: string } };
}

interface ListedEvent {
  readonly event_id: string;
  readonly seq: number;
  readonly type: string;
  readonly correlation_id: string | null;
  readonly causation_id: string | null;
  readonly actor: { kind: string; key_id?: string; channel?: string | null; service?: string } | null;
}

/**
 * One order followed end to end by its correlation id (issue 14 item 3): the id sent at the edge comes
 * back in X-Request-Id, and every event of the order — placed by the API, confirmed by the saga, routed,
 * shipped and delivered by the workers — carries it, in the event log, the Kafka headers and the stream
 * entries, with each event caused by an earlier one; the log lines of the saga worker and of the PSP,
 * WMS and carrier sandboxes (which get it with our calls and messages) carry it.
 */
describe('correlation ids end to end: one order followed from its POST to delivered', function () {
  this.timeout(90_000);
  let system: TestSystem;
  let consumer: ReturnType<ReturnType<typeof createKafka>['consumer']>;
  const kafkaSeen = new Map<string, SeenMessage>();
  const OBSERVER = 'correlation-test-observer';

  before(async () => {
    system = await startTestSystem({ fulfillment: {}, captureLogs: true });
    // A group that never acknowledges keeps the projector's streams (every event) untrimmed for the checks below.
    for (const stream of groupStreams(system.layout, 'projector'))
      await system.redis.xgroup('CREATE', stream, OBSERVER, '0', 'MKSTREAM').catch(() => undefined);
    consumer = createKafka(system.config.kafkaBrokers, 'correlation-test').consumer({ groupId: uniqueId('correlation-test') });
    await consumer.connect();
    await consumer.subscribe({ topic: system.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }: EachMessagePayload) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        kafkaSeen.set(headers.id ?? '', {
          headers,
          value: JSON.parse(message.value?.toString() ?? '{}') as SeenMessage['value'],
        });
      },
    });
  });
  after(async () => {
    await consumer?.disconnect();
    await system?.stop();
  });

  const eventsOf = async (orderId: string): Promise<ListedEvent[]> => {
    const res = await system.get(`/api/v1/orders/${orderId}/events?limit=200`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body.events as ListedEvent[];
  };

  it('carries the X-Request-Id and the trace of the POST through events, Kafka, streams, worker and partner logs', async () => {
    const { skus } = await system.catalog({ prices: [1200], stock: [[5]] });
    const requestId = uniqueId('req');
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const incoming = `00-${traceId}-00f067aa0ba902b7-01`;
    const placed = await system.post(
      '/api/v1/orders',
      orderBody(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }], { shipping_address: newYorkAddress }),
      {
        traceparent: incoming,
        'X-Request-Id': requestId,
      },
    );
    expect(placed.status, JSON.stringify(placed.body)).to.equal(202);
    expect(placed.headers.get('x-request-id')).to.equal(requestId);
    const orderId = placed.body.order_id as string;

    expect(await system.waitForStatus(orderId, ['delivered', 'rejected'], 40_000)).to.equal('delivered');

    // The event log, as GET /events shows it: one correlation, a causation chain, the actors.
    const events = await eventually('the events up to delivered', async () => {
      const listed = await eventsOf(orderId);
      return listed.some((e) => e.type === 'shipment.delivered') ? listed : undefined;
    });
    const types = events.map((e) => e.type);
    for (const type of ['order.placed', 'order.confirmed', 'shipment.created', 'shipment.shipped', 'shipment.delivered'])
      expect(types).to.include(type);
    const earlier = new Set<string>();
    for (const event of events) {
      expect(event.correlation_id, `${event.type} correlation`).to.equal(requestId);
      if (event.seq === 1) {
        expect(event.type).to.equal('order.placed');
        expect(event.causation_id).to.equal(null);
        expect(event.actor?.kind).to.equal('api_key');
        expect(event.actor?.key_id).to.be.a('string');
      } else {
        expect(earlier.has(event.causation_id ?? ''), `${event.type} is caused by an earlier event of the order`).to.equal(true);
        expect(event.actor?.kind, `${event.type} actor`).to.equal('service');
      }
      earlier.add(event.event_id);
    }
    const byType = (type: string) => events.find((e) => e.type === type)!;
    // The saga reacted to order.placed; the router to order.confirmed.
    expect(byType('order.confirmed').causation_id).to.equal(byType('order.placed').event_id);
    expect(byType('order.confirmed').actor).to.deep.equal({ kind: 'service', service: 'saga' });
    expect(byType('shipment.created').causation_id).to.equal(byType('order.confirmed').event_id);
    expect(byType('shipment.created').actor).to.deep.equal({ kind: 'service', service: 'router' });
    // The WMS answered the shipment request with its correlation, naming the request as the cause.
    expect(byType('shipment.picked').causation_id).to.equal(byType('shipment.created').event_id);
    expect(byType('shipment.shipped').causation_id).to.equal(byType('shipment.created').event_id);

    // Kafka: every event's message carries the correlation id and the same trace in its headers,
    // beside Debezium's headers, unchanged.
    await eventually(
      'every event on Kafka',
      async () => (events.every((e) => kafkaSeen.has(e.event_id)) ? true : undefined),
      20_000,
    );
    for (const event of events) {
      const { headers, value } = kafkaSeen.get(event.event_id)!;
      expect(headers.id).to.equal(event.event_id);
      expect(headers.eventType).to.equal(event.type);
      expect(headers.aggregatetype).to.equal('order');
      expect(headers['correlation-id'], `${event.type} header`).to.equal(requestId);
      expect(parseTraceparent(headers.traceparent)?.traceId, `${event.type} traceparent`).to.equal(traceId);
      expect(value.metadata?.correlation_id).to.equal(requestId);
    }

    // Redis Streams: the entries of the order carry the correlation id beside the envelope.
    const entries: Array<Record<string, string>> = [];
    for (const stream of groupStreams(system.layout, 'projector'))
      for (const [, fields] of await system.redis.xrange(stream, '-', '+')) {
        const entry = parseFields(fields);
        if (entry.order_id === orderId) entries.push(entry);
      }
    expect(entries.map((e) => e.event_id)).to.have.members(events.map((e) => e.event_id));
    for (const entry of entries) {
      expect(entry.correlation_id, `${entry.type} stream entry`).to.equal(requestId);
      expect(parseTraceparent(entry.traceparent)?.traceId).to.equal(traceId);
    }

    // Logs: the API's access line, the saga worker's line for the order, the PSP sandbox's line for its call.
    const lines = system.logLines;
    const access = lines.find((l) => l.service === 'api' && l.msg === 'request completed' && l.correlation_id === requestId);
    expect(access, 'the access line of the POST').to.deep.include({ trace_id: traceId, request_id: requestId });
    expect(access?.req).to.deep.equal({ method: 'POST', route: '/api/v1/orders' });
    expect(access?.res).to.deep.equal({ statusCode: 202 });
    expect(access?.responseTime).to.be.a('number');
    const saga = lines.find((l) => l.service === 'saga-worker' && l.order_id === orderId);
    expect(saga, 'a saga worker line for the order').to.not.equal(undefined);
    expect(saga?.correlation_id).to.equal(requestId);
    expect(saga?.trace_id).to.equal(traceId);
    const psp = lines.find((l) => l.service === 'psp-sandbox' && l.correlation_id === requestId);
    expect(psp, 'a PSP sandbox line for the authorization').to.not.equal(undefined);
    expect(psp?.trace_id).to.equal(traceId);
    expect((psp?.req as { route?: string } | undefined)?.route).to.equal('/v1/authorizations');
    // The capture per shipment (a poller's call) too, and the WMS (Kafka headers) and the carrier (HTTP).
    await eventually('the capture call logged by the PSP sandbox', async () =>
      system.logLines.some(
        (l) =>
          l.service === 'psp-sandbox' &&
          l.correlation_id === requestId &&
          /\/captures$/.test((l.req as { route?: string } | undefined)?.route ?? ''),
      )
        ? true
        : undefined,
    );
    const wms = lines.find((l) => l.service === 'wms-sandbox' && l.order_id === orderId && l.msg === 'shipment received');
    expect(wms?.correlation_id, 'the WMS sandbox line for the shipment').to.equal(requestId);
    const carrier = lines.find((l) => l.service === 'carrier-sandbox' && l.correlation_id === requestId);
    expect(carrier, 'a carrier sandbox line for a tracking poll').to.not.equal(undefined);
    expect(carrier?.trace_id).to.equal(traceId);
  });

  it('gives a later request on the order (a cancellation, through the express app) its own correlation, and the actor', async () => {
    const { skus } = await system.catalog({ prices: [900], stock: [[5]] });
    const placed = await system.post('/api/v1/orders', orderBody(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }]), {
      'X-Request-Id': uniqueId('place'),
    });
    const orderId = placed.body.order_id as string;
    // At once, while it is placed: the cancellation is taken (202) and waits for the placement to finish.
    const cancelId = uniqueId('cancel');
    const cancelled = await system.post(
      `/api/v1/orders/${orderId}/cancel`,
      { reason: 'changed my mind' },
      { 'X-Request-Id': cancelId },
    );
    expect(cancelled.status, JSON.stringify(cancelled.body)).to.equal(202);
    expect(cancelled.headers.get('x-request-id')).to.equal(cancelId);
    const events = await eventually('the cancellation decided', async () => {
      const listed = await eventsOf(orderId);
      return listed.some((e) => e.type === 'order.cancelled' || e.type === 'order.cancellation_refused') ? listed : undefined;
    });
    const requested = events.find((e) => e.type === 'order.cancellation_requested')!;
    expect(requested.correlation_id).to.equal(cancelId);
    expect(requested.causation_id).to.equal(null);
    expect(requested.actor?.kind).to.equal('api_key');
    const outcome = events.find((e) => e.type === 'order.cancelled' || e.type === 'order.cancellation_refused')!;
    expect(outcome.correlation_id).to.equal(cancelId);
    expect(outcome.actor).to.deep.equal({ kind: 'service', service: 'changes' });
  });

  it('makes a correlation id when the request brings none (or an unusable one), and answers it', async () => {
    const { skus } = await system.catalog({ prices: [800], stock: [[5]] });
    const placed = await system.post('/api/v1/orders', orderBody(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }]), {
      traceparent: '00-not-a-trace-01',
      'X-Request-Id': 'has spaces in it',
    });
    expect(placed.status, JSON.stringify(placed.body)).to.equal(202);
    const generated = placed.headers.get('x-request-id');
    expect(generated).to.match(/^[0-9a-f]{32}$/);
    const orderId = placed.body.order_id as string;
    expect(await system.waitForStatus(orderId, ['confirmed', 'processing', 'shipped', 'delivered'], 20_000)).to.be.a('string');
    const events = await eventsOf(orderId);
    expect(events.map((e) => e.correlation_id)).to.deep.equal(events.map(() => generated));
    // A read is answered with an id of its own, too.
    const read = await system.get(`/api/v1/orders/${orderId}/events`, { 'X-Request-Id': 'read-1' });
    expect(read.headers.get('x-request-id')).to.equal('read-1');
  });
});
