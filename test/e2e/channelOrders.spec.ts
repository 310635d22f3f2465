import { expect } from 'chai';
import { Scope } from '../../platform/access.js';
import { signWebhook } from '../../platform/standardWebhooks.js';
import { bearer, createTestKey } from '../support/apiKeys.js';
import { orderBody } from '../support/catalog.js';
import { uniqueId } from '../support/env.js';
import { startTestSystem, type TestSystem } from '../support/system.js';

describe('orders from marketplaces (signed webhooks) and point-of-sale batches (contract §8)', function () {
  this.timeout(60_000);
  let system: TestSystem;
  let sku: string;

  before(async () => {
    system = await startTestSystem({ startSagaWorker: false });
    ({
      skus: [sku = ''],
    } = await system.catalog({ prices: [2500], stock: [[1000]] }));
  });
  after(() => system.stop());

  describe('a marketplace pushing signed orders', () => {
    const path = (marketplaceId: string) => `/api/v1/channels/marketplace/${marketplaceId}/orders`;

    async function register(marketplaceId: string): Promise<string> {
      const created = await system.put(`/api/v1/admin/marketplaces/${marketplaceId}`, { name: `Marketplace ${marketplaceId}` });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      return (created.body as { secret: string }).secret;
    }

    /** POSTs `body` as the marketplace would: signed, without an API key. */
    async function push(marketplaceId: string, body: unknown, sign: { secret: string; id?: string; timestamp?: number }) {
      const text = JSON.stringify(body);
      const headers = signWebhook([sign.secret], sign.id ?? uniqueId('msg'), sign.timestamp ?? Math.floor(Date.now() / 1000), text);
      const response = await fetch(system.urlFor('POST', path(marketplaceId)) + path(marketplaceId), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: text,
      });
      return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
    }

    const marketplaceOrder = (externalOrderId: string) =>
      orderBody(uniqueId('mp-cust'), [{ sku, quantity: 1 }], { channel: 'marketplace', external_order_id: externalOrderId });

    it('places a signed order once, however often the same webhook comes, and refuses what is not signed right', async () => {
      const marketplaceId = uniqueId('mkt');
      const secret = await register(marketplaceId);
      const again = await system.put(`/api/v1/admin/marketplaces/${marketplaceId}`, { name: 'Renamed' });
      expect(again.status).to.equal(200);
      expect(again.body).to.not.have.property('secret');

      const external = uniqueId('ext');
      const first = await push(marketplaceId, marketplaceOrder(external), { secret });
      expect(first.status, JSON.stringify(first.body)).to.equal(202);
      // The same webhook id again answers as the first time and places nothing.
      const sameBytes = marketplaceOrder(uniqueId('ext'));
      const firstOfPair = await push(marketplaceId, sameBytes, { secret, id: 'msg-pair' });
      const secondOfPair = await push(marketplaceId, sameBytes, { secret, id: 'msg-pair' });
      expect(secondOfPair.status).to.equal(firstOfPair.status);
      expect(secondOfPair.body).to.deep.equal(firstOfPair.body);
      expect(secondOfPair.headers.get('idempotent-replayed')).to.equal('true');
      const placed = await system.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM order_external_refs WHERE channel = $1`,
        [`marketplace/${marketplaceId}`],
      );
      expect(placed.rows[0]!.n).to.equal(2);
      const order = await system.pool.query<{ channel: string; external_order_id: string }>(
        'SELECT channel, external_order_id FROM orders WHERE order_id = $1',
        [first.body.order_id],
      );
      expect(order.rows[0]).to.deep.equal({ channel: 'marketplace', external_order_id: external });

      // The same external id with another webhook: a second order with that reference is refused.
      const duplicate = await push(marketplaceId, marketplaceOrder(external), { secret });
      expect(duplicate.status).to.equal(409);

      for (const refused of [
        await push(marketplaceId, marketplaceOrder(uniqueId('ext')), { secret: 'whsec_' + Buffer.from('not the secret').toString('base64') }),
        await push(marketplaceId, marketplaceOrder(uniqueId('ext')), { secret, timestamp: Math.floor(Date.now() / 1000) - 301 }),
        await push(uniqueId('unknown-mkt'), marketplaceOrder(uniqueId('ext')), { secret }),
      ]) {
        expect(refused.status).to.equal(401);
        expect(refused.body.type).to.equal('/problems/invalid-webhook-signature');
      }
      const missingReference = await push(marketplaceId, orderBody(uniqueId('c'), [{ sku, quantity: 1 }], { channel: 'marketplace' }), { secret });
      expect(missingReference.status).to.equal(400);
    });

    it('keeps external ids unique per marketplace, and verifies both secrets for a day after a rotation', async () => {
      const [one, two] = [uniqueId('mkt-a'), uniqueId('mkt-b')];
      const [secretOne, secretTwo] = [await register(one), await register(two)];
      const external = uniqueId('ext');
      expect((await push(one, marketplaceOrder(external), { secret: secretOne })).status).to.equal(202);
      expect((await push(two, marketplaceOrder(external), { secret: secretTwo })).status).to.equal(202);

      const rotated = await system.post(`/api/v1/admin/marketplaces/${one}/secrets`, {});
      expect(rotated.status).to.equal(201);
      const newSecret = (rotated.body as { secret: string }).secret;
      expect(newSecret).to.not.equal(secretOne);
      expect((await push(one, marketplaceOrder(uniqueId('ext')), { secret: secretOne })).status).to.equal(202);
      expect((await push(one, marketplaceOrder(uniqueId('ext')), { secret: newSecret })).status).to.equal(202);
      expect((await system.post(`/api/v1/admin/marketplaces/${uniqueId('none')}/secrets`, {})).status).to.equal(404);
    });
  });

  describe('a point-of-sale syncing an offline batch', () => {
    it('answers each order in the order sent, and the same batch again places nothing twice', async () => {
      const { key } = await createTestKey(system.pool, { channel: 'pos', scopes: [Scope.ordersWrite, Scope.ordersRead] });
      const refs = [uniqueId('pos'), uniqueId('pos'), uniqueId('pos')];
      const batch = {
        orders: [
          orderBody(uniqueId('c'), [{ sku, quantity: 1 }], { channel: 'pos', external_order_id: refs[0] }),
          orderBody(uniqueId('c'), [{ sku: 'NO-SUCH-SKU', quantity: 1 }], { channel: 'pos', external_order_id: refs[1] }),
          // The channel is taken from the POS key when the order names none.
          { ...orderBody(uniqueId('c'), [{ sku, quantity: 2 }], { external_order_id: refs[2] }), channel: undefined },
          orderBody(uniqueId('c'), [{ sku, quantity: 1 }], { channel: 'pos' }),
        ],
      };
      const first = await system.post('/api/v1/orders/batch', batch, bearer(key));
      expect(first.status, JSON.stringify(first.body)).to.equal(200);
      const results = (first.body as { results: Array<{ external_order_id: string | null; status: number; order_id?: string; problem?: { type: string } }> })
        .results;
      expect(results.map((r) => [r.external_order_id, r.status])).to.deep.equal([
        [refs[0], 202],
        [refs[1], 422],
        [refs[2], 202],
        [null, 400],
      ]);
      expect(results[1]!.problem!.type).to.match(/^\/problems\//);

      const second = await system.post('/api/v1/orders/batch', batch, bearer(key));
      const again = (second.body as { results: Array<{ status: number; order_id?: string }> }).results;
      expect(again.map((r) => r.order_id)).to.deep.equal(results.map((r) => r.order_id));
      const count = await system.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM orders WHERE channel = 'pos' AND external_order_id = ANY($1::text[])`,
        [refs],
      );
      expect(count.rows[0]!.n).to.equal(2);

      expect((await system.post('/api/v1/orders/batch', { orders: [] }, bearer(key))).status).to.equal(400);
      const tooMany = { orders: Array.from({ length: 501 }, () => batch.orders[0]) };
      expect((await system.post('/api/v1/orders/batch', tooMany, bearer(key))).status).to.equal(400);
      // Another channel's orders in a POS key's batch are refused one by one.
      const webInPos = await system.post(
        '/api/v1/orders/batch',
        { orders: [orderBody(uniqueId('c'), [{ sku, quantity: 1 }], { channel: 'web', external_order_id: uniqueId('x') })] },
        bearer(key),
      );
      expect((webInPos.body as { results: Array<{ status: number }> }).results[0]!.status).to.equal(403);
    });
  });
});
