import type http from 'node:http';
import { expect } from 'chai';
import { listen } from '../../platform/http.js';
import { verifyWebhook } from '../../platform/standardWebhooks.js';
import { parseTraceparent } from '../../platform/traceparent.js';
import { Scope } from '../../platform/access.js';
import { bearer, createTestKey } from '../support/apiKeys.js';
import { eventually, uniqueId } from '../support/env.js';
import type { RunningProcess } from '../support/processes.js';
import { startServiceProcess, startTestSystem, type TestSystem } from '../support/system.js';

interface Received {
  readonly eventId: string;
  readonly type: string;
  readonly orderId: string;
  readonly verified: boolean;
  readonly answered: number;
  readonly traceparent: string | undefined;
  readonly requestId: string | undefined;
}

/**
 * A receiver of our own, as a channel would run one: it verifies every signature with the secret it
 * was given, answers with what `answer` says, and remembers every request and its answer.
 */
async function startReceiver(answer: (n: number) => { status: number; delayMs?: number }) {
  const received: Received[] = [];
  let secret = '';
  let n = 0;
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const verified = verifyWebhook([secret], req.headers, body, Math.floor(Date.now() / 1000)).ok;
      const parsed = JSON.parse(body) as { event_id: string; type: string; order_id: string };
      const { status, delayMs = 0 } = answer(++n);
      setTimeout(() => {
        received.push({
          eventId: parsed.event_id,
          type: parsed.type,
          orderId: parsed.order_id,
          verified,
          answered: status,
          traceparent: req.headers.traceparent as string | undefined,
          requestId: req.headers['x-request-id'] as string | undefined,
        });
        res.writeHead(status).end();
      }, delayMs);
    });
  };
  const server = await listen(handler, '127.0.0.1', 0);
  const { port } = server;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    useSecret: (s: string) => {
      secret = s;
    },
    /** Event ids answered 2xx, in the order they were answered. */
    delivered: () => received.filter((r) => r.answered < 300),
    close: () => server.close(),
  };
}

const EVENTS = ['order.placed', 'inventory.reserved', 'payment.authorized', 'order.confirmed'];

describe('outbound webhooks: signed, in order per order, at least once across failures and a killed worker', function () {
  this.timeout(120_000);
  let system: TestSystem;
  let skus: string[];
  const processes: RunningProcess[] = [];

  before(async () => {
    system = await startTestSystem({});
    ({ skus } = await system.catalog({ prices: [1500], stock: [[500]] }));
  });
  after(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    await system.stop();
  });

  async function startWorker(group: string): Promise<RunningProcess> {
    const worker = await startServiceProcess(system, 'dist/workers/webhooks/main.js', 'webhook worker running', {
      KAFKA_ORDER_EVENTS_TOPIC: system.topic,
      WEBHOOK_CONSUMER_GROUP: group,
      WEBHOOK_RETRY_BASE_MS: '50',
      WEBHOOK_RETRY_MAX_MS: '200',
      WEBHOOK_LEASE_MS: '1000',
    });
    processes.push(worker);
    return worker;
  }

  async function subscribe(url: string, events = EVENTS): Promise<{ webhook_id: string; secret: string }> {
    const created = await system.post('/api/v1/webhooks', { url, events });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const body = created.body as { webhook_id: string; secret: string; events: string[] };
    expect(body.secret).to.match(/^whsec_/);
    expect(body.events).to.deep.equal(events);
    return body;
  }

  async function placeConfirmed(count: number): Promise<string[]> {
    const orders: string[] = [];
    for (let i = 0; i < count; i++) {
      const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }]);
      orders.push(placed.body.order_id as string);
    }
    for (const orderId of orders) expect(await system.waitForFinalStatus(orderId)).to.equal('confirmed');
    return orders;
  }

  /** The events of these orders a subscriber of EVENTS must get, by order, in their order. */
  async function expectedEvents(orders: readonly string[]): Promise<Map<string, string[]>> {
    const { rows } = await system.pool.query<{ order_id: string; event_id: string }>(
      `SELECT order_id, event_id FROM order_events WHERE order_id = ANY($1::uuid[]) AND type = ANY($2::text[]) ORDER BY order_id, seq`,
      [orders, EVENTS],
    );
    const byOrder = new Map<string, string[]>();
    for (const row of rows) byOrder.set(row.order_id, [...(byOrder.get(row.order_id) ?? []), row.event_id]);
    return byOrder;
  }

  it('delivers every event of an order, signed, in order; a receiver failing 5 times then recovering gets everything', async () => {
    const receiver = await startReceiver((n) => ({ status: n <= 5 ? 503 : 204 }));
    const subscription = await subscribe(receiver.url);
    receiver.useSecret(subscription.secret);
    // A mobile client's subscription sees only mobile orders, and not the other client's subscription.
    const mobileKey = (await createTestKey(system.pool, { channel: 'mobile', scopes: [Scope.webhooksWrite] })).key;
    const mobileReceiver = await startReceiver(() => ({ status: 200 }));
    const mobile = await system.post('/api/v1/webhooks', { url: mobileReceiver.url, events: EVENTS }, bearer(mobileKey));
    expect(mobile.status).to.equal(201);
    expect((mobile.body as { channel: string }).channel).to.equal('mobile');
    expect((await system.get(`/api/v1/webhooks/${subscription.webhook_id}`, bearer(mobileKey))).status).to.equal(404);
    const mobileList = await system.get('/api/v1/webhooks', bearer(mobileKey));
    expect((mobileList.body as { webhooks: Array<{ webhook_id: string }> }).webhooks.map((w) => w.webhook_id)).to.deep.equal([
      (mobile.body as { webhook_id: string }).webhook_id,
    ]);
    await startWorker(uniqueId('test-webhooks'));
    const orders = await placeConfirmed(6);
    const expected = await expectedEvents(orders);
    const total = [...expected.values()].reduce((n, ids) => n + ids.length, 0);
    expect(total).to.equal(orders.length * EVENTS.length);

    await eventually('every event delivered', async () => (new Set(receiver.delivered().map((r) => r.eventId)).size >= total ? true : undefined), 60_000);
    expect(receiver.received.slice(0, 5).map((r) => r.answered)).to.deep.equal([503, 503, 503, 503, 503]);
    expect(receiver.received.every((r) => r.verified)).to.equal(true);
    // Each delivery carries its event's correlation: X-Request-Id, and a span of ours in the event's trace.
    const { rows: metadata } = await system.pool.query<{ event_id: string; correlation_id: string; traceparent: string }>(
      `SELECT event_id, metadata->>'correlation_id' AS correlation_id, metadata->>'traceparent' AS traceparent
         FROM order_events WHERE event_id = ANY($1::uuid[])`,
      [receiver.received.map((r) => r.eventId)],
    );
    const byEvent = new Map(metadata.map((m) => [m.event_id, m]));
    for (const r of receiver.received) {
      const event = byEvent.get(r.eventId);
      expect(r.requestId, r.eventId).to.equal(event?.correlation_id);
      expect(parseTraceparent(r.traceparent)?.traceId, r.eventId).to.equal(parseTraceparent(event?.traceparent)?.traceId);
      expect(r.traceparent).to.not.equal(event?.traceparent);
    }
    for (const [orderId, eventIds] of expected) {
      const got = receiver.delivered().filter((r) => r.orderId === orderId).map((r) => r.eventId);
      expect(got, `order ${orderId}`).to.deep.equal(eventIds);
    }

    expect(mobileReceiver.received).to.deep.equal([]);
    const mobileDeliveries = await system.pool.query('SELECT 1 FROM webhook_deliveries WHERE webhook_id = $1', [
      (mobile.body as { webhook_id: string }).webhook_id,
    ]);
    expect(mobileDeliveries.rows).to.deep.equal([]);
    await mobileReceiver.close();

    // The attempts are visible through the API, failures included.
    const listed = await system.get(`/api/v1/webhooks/${subscription.webhook_id}/deliveries?limit=1000`);
    expect(listed.status).to.equal(200);
    const deliveries = (listed.body as { deliveries: Array<{ status: string; attempts: number; attempt_log: Array<{ status: number }> }> })
      .deliveries;
    expect(deliveries).to.have.length(total);
    expect(deliveries.every((d) => d.status === 'delivered')).to.equal(true);
    const attempts = deliveries.flatMap((d) => d.attempt_log.map((a) => a.status));
    expect(attempts.filter((s) => s === 503)).to.have.length(5);
    expect(attempts.filter((s) => s === 204)).to.have.length(total);
    // Deleted: no more deliveries, and it is gone from the listing.
    expect((await system.delete(`/api/v1/webhooks/${subscription.webhook_id}`)).status).to.equal(204);
    expect((await system.get(`/api/v1/webhooks/${subscription.webhook_id}`)).status).to.equal(404);
    await receiver.close();
  });

  it('loses nothing when the webhook worker is killed with SIGKILL in the middle of deliveries', async () => {
    const receiver = await startReceiver(() => ({ status: 200, delayMs: 40 }));
    const subscription = await subscribe(receiver.url);
    receiver.useSecret(subscription.secret);
    const group = uniqueId('test-webhooks');
    const first = await startWorker(group);
    const orders = await placeConfirmed(10);
    const expected = await expectedEvents(orders);
    const wanted = new Set([...expected.values()].flat());

    await eventually('some deliveries made', async () => (receiver.delivered().length >= 5 ? true : undefined), 30_000, 5);
    first.child.kill('SIGKILL');
    expect(await first.exited).to.equal('SIGKILL');
    expect(new Set(receiver.delivered().map((r) => r.eventId)).size).to.be.lessThan(wanted.size);
    await startWorker(group);

    await eventually(
      'every event delivered after the restart',
      async () => ([...wanted].every((id) => receiver.delivered().some((r) => r.eventId === id)) ? true : undefined),
      60_000,
    );
    for (const [orderId, eventIds] of expected) {
      // At least once: a delivery cut short by the kill may come twice, but never out of order.
      const got = receiver.delivered().filter((r) => r.orderId === orderId).map((r) => r.eventId);
      const firsts = got.filter((id, i) => got.indexOf(id) === i);
      expect(firsts, `order ${orderId}`).to.deep.equal(eventIds);
    }
    await receiver.close();
  });

  it('lets neither a dead nor a slow receiver hold back placement or another subscriber', async () => {
    const fast = await startReceiver(() => ({ status: 204 }));
    // Slower than the worker waits (WEBHOOK_TIMEOUT_MS, 5 s): its attempts time out and are retried.
    const slow = await startReceiver(() => ({ status: 200, delayMs: 8_000 }));
    const fastSubscription = await subscribe(fast.url, ['order.confirmed']);
    fast.useSecret(fastSubscription.secret);
    const slowSubscription = await subscribe(slow.url, ['order.confirmed']);
    slow.useSecret(slowSubscription.secret);
    // Nothing listens on port 9: every attempt fails at once and is retried.
    const deadSubscription = await subscribe('http://127.0.0.1:9/dead', ['order.confirmed']);
    await startWorker(uniqueId('test-webhooks'));

    const orders = await placeConfirmed(12);
    await eventually(
      'the fast receiver has every confirmation',
      async () => (orders.every((id) => fast.delivered().some((r) => r.orderId === id)) ? true : undefined),
      20_000,
    );
    // Meanwhile the slow one has not answered a single delivery, and the dead one none at all.
    expect(slow.received.filter((r) => orders.includes(r.orderId))).to.deep.equal([]);
    for (const subscription of [fastSubscription, slowSubscription, deadSubscription])
      expect((await system.delete(`/api/v1/webhooks/${subscription.webhook_id}`)).status).to.equal(204);
    await fast.close();
    await slow.close();
  });

  it('answers 404 for an unknown subscription, 400 for bad input, and rotates secrets with both valid meanwhile', async () => {
    const missing = await system.get('/api/v1/webhooks/0190a000-0000-7000-8000-000000000000/deliveries');
    expect(missing.status).to.equal(404);
    const bad = await system.post('/api/v1/webhooks', { url: 'ftp://x', events: ['order.teleported'] });
    expect(bad.status).to.equal(400);
    expect((bad.body as { errors: Array<{ pointer: string }> }).errors.map((e) => e.pointer)).to.include.members(['/url', '/events/0']);

    const subscription = await subscribe('http://127.0.0.1:9/never', ['order.confirmed']);
    const rotated = await system.post(`/api/v1/webhooks/${subscription.webhook_id}/secrets`, {});
    expect(rotated.status).to.equal(201);
    const body = rotated.body as { secret: string; previous_secret_expires_at: string };
    expect(body.secret).to.not.equal(subscription.secret);
    expect(Date.parse(body.previous_secret_expires_at) - Date.now()).to.be.greaterThan(23 * 3_600_000);
    const stored = await system.pool.query<{ secret: string; previous_secret: string }>(
      'SELECT secret, previous_secret FROM webhook_subscriptions WHERE webhook_id = $1',
      [subscription.webhook_id],
    );
    expect(stored.rows[0]).to.deep.equal({ secret: body.secret, previous_secret: subscription.secret });
  });
});
