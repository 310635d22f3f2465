import { expect } from 'chai';
import type { OrderEventEnvelope } from '../../domain/events.js';
import { afterWebhookFailure, isDelivered, subscriptionSees, webhookBody } from '../../domain/webhooks.js';
import { newWebhookSecret, signWebhook, verifyWebhook, webhookSignature } from '../../platform/standardWebhooks.js';

describe('Standard Webhooks signatures (platform/standardWebhooks)', () => {
  // The published test vector of the Standard Webhooks reference libraries.
  const vector = {
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: 1614265330,
    body: '{"test": 2432232314}',
    signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  };

  it('reproduces the reference signature of the published test vector', () => {
    expect(`v1,${webhookSignature(vector.secret, vector.id, vector.timestamp, vector.body)}`).to.equal(vector.signature);
    expect(signWebhook([vector.secret], vector.id, vector.timestamp, vector.body)).to.deep.equal({
      'webhook-id': vector.id,
      'webhook-timestamp': '1614265330',
      'webhook-signature': vector.signature,
    });
  });

  it('verifies what it signs within five minutes either way, and nothing else', () => {
    const headers = { 'webhook-id': vector.id, 'webhook-timestamp': '1614265330', 'webhook-signature': vector.signature };
    expect(verifyWebhook([vector.secret], headers, vector.body, vector.timestamp + 300)).to.deep.equal({
      ok: true,
      id: vector.id,
      timestamp: vector.timestamp,
    });
    expect(verifyWebhook([vector.secret], headers, vector.body, vector.timestamp - 300).ok).to.equal(true);
    expect(verifyWebhook([vector.secret], headers, vector.body, vector.timestamp + 301)).to.deep.equal({
      ok: false,
      reason: 'timestamp out of tolerance',
    });
    expect(verifyWebhook([vector.secret], headers, `${vector.body} `, vector.timestamp)).to.deep.equal({ ok: false, reason: 'bad signature' });
    expect(verifyWebhook([newWebhookSecret()], headers, vector.body, vector.timestamp)).to.deep.equal({ ok: false, reason: 'bad signature' });
    expect(verifyWebhook([vector.secret], { ...headers, 'webhook-id': 'msg_other' }, vector.body, vector.timestamp).ok).to.equal(false);
    expect(verifyWebhook([vector.secret], { 'webhook-id': vector.id }, vector.body, vector.timestamp)).to.deep.equal({
      ok: false,
      reason: 'missing headers',
    });
    expect(verifyWebhook([vector.secret], { ...headers, 'webhook-timestamp': '16e8' }, vector.body, vector.timestamp)).to.deep.equal({
      ok: false,
      reason: 'bad timestamp',
    });
  });

  it('signs with both secrets during a rotation, and either one verifies', () => {
    const [older, newer] = [newWebhookSecret(), newWebhookSecret()];
    const headers = signWebhook([newer, older], 'evt_1', 1_700_000_000, '{}');
    expect(headers['webhook-signature'].split(' ')).to.have.length(2);
    expect(verifyWebhook([older], headers, '{}', 1_700_000_000).ok).to.equal(true);
    expect(verifyWebhook([newer], headers, '{}', 1_700_000_000).ok).to.equal(true);
    expect(newer).to.match(/^whsec_[A-Za-z0-9+/]{32}$/);
  });
});

describe('outbound webhooks (domain)', () => {
  const subscription = { events: ['order.confirmed', 'shipment.shipped'], channel: 'web', createdAt: new Date('2026-01-01T00:00:00Z') };
  const at = new Date('2026-01-02T00:00:00Z');

  it('shows a subscription the events it names, of orders of its channel, since it exists', () => {
    expect(subscriptionSees(subscription, { type: 'order.confirmed', occurredAt: at }, 'web')).to.equal(true);
    expect(subscriptionSees(subscription, { type: 'order.placed', occurredAt: at }, 'web')).to.equal(false);
    expect(subscriptionSees(subscription, { type: 'order.confirmed', occurredAt: at }, 'pos')).to.equal(false);
    expect(subscriptionSees({ ...subscription, channel: null }, { type: 'order.confirmed', occurredAt: at }, 'pos')).to.equal(true);
    expect(subscriptionSees(subscription, { type: 'order.confirmed', occurredAt: new Date('2025-12-31T23:59:59Z') }, 'web')).to.equal(false);
  });

  it('carries the event as the contract says', () => {
    const body = webhookBody({
      event_id: 'e',
      order_id: 'o',
      seq: 3,
      type: 'order.confirmed',
      occurred_at: '2026-01-02T00:00:00.000Z',
      payload: { total_amount: 1 },
    } as unknown as OrderEventEnvelope);
    expect(body).to.deep.equal({ type: 'order.confirmed', event_id: 'e', order_id: 'o', occurred_at: '2026-01-02T00:00:00.000Z', data: { total_amount: 1 } });
  });

  it('retries a failure after a jittered exponential backoff, and disables a subscription failing for 24 h', () => {
    const policy = { backoff: { baseMs: 1_000, maxMs: 3_600_000 }, disableAfterMs: 24 * 3_600_000 };
    const now = Date.parse('2026-01-02T00:00:00Z');
    expect(afterWebhookFailure(policy, 1, null, now, () => 0.5)).to.deep.equal({ action: 'retry', atMs: now + 500, failingSinceMs: now });
    expect(afterWebhookFailure(policy, 4, now - 1_000, now, () => 0.999)).to.deep.equal({
      action: 'retry',
      atMs: now + 7_992,
      failingSinceMs: now - 1_000,
    });
    expect(afterWebhookFailure(policy, 40, now - policy.disableAfterMs, now, () => 0)).to.deep.equal({
      action: 'disable',
      failingSinceMs: now - policy.disableAfterMs,
    });
    expect([199, 200, 204, 299, 300, 500].map(isDelivered)).to.deep.equal([false, true, true, true, false, false]);
  });
});
