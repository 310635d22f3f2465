import { expect } from 'chai';
import {
  accessFor,
  API_ROUTES,
  bearerToken,
  channelForWrite,
  hasScope,
  isRateLimited,
  Scope,
  SCOPES,
  seesChannel,
  type Principal,
} from '../../platform/access.js';
import { ApiKeyCache } from '../../platform/authentication.js';
import { samplePath } from '../support/apiKeys.js';

const principal = (over: Partial<Principal> = {}): Principal => ({
  keyId: 'k1',
  name: 'test',
  channel: null,
  scopes: [Scope.ordersRead],
  rateLimit: undefined,
  ...over,
});

describe('access rules (platform/access)', () => {
  describe('the route table', () => {
    it('finds every declared route with its own scope, a trailing slash and HEAD (as GET) included', () => {
      for (const route of API_ROUTES) {
        const path = samplePath(route.path);
        expect(accessFor(route.method, path), `${route.method} ${route.path}`).to.deep.equal({ kind: 'key', scope: route.scope });
        expect(accessFor(route.method, `${path}/`), `${route.method} ${route.path}/`).to.deep.equal({
          kind: 'key',
          scope: route.scope,
        });
        if (route.method === 'GET') expect(accessFor('HEAD', path)).to.deep.equal({ kind: 'key', scope: route.scope });
      }
    });

    it('declares each method and path once', () => {
      const seen = API_ROUTES.map((r) => `${r.method} ${r.path}`);
      expect(new Set(seen).size).to.equal(seen.length);
    });

    it('leaves /health and the API description open, and nothing else outside /api/v1 matters', () => {
      for (const path of ['/health', '/', '/openapi.json', '/api/v1x', '/api', '/api/v2/orders']) {
        expect(accessFor('GET', path), path).to.deep.equal({ kind: 'open' });
      }
    });

    it('needs a key (any scope) for an undeclared path or method under /api/v1', () => {
      expect(accessFor('GET', '/api/v1/nothing-here')).to.deep.equal({ kind: 'key', scope: null });
      expect(accessFor('DELETE', '/api/v1/orders')).to.deep.equal({ kind: 'key', scope: null });
      expect(accessFor('GET', '/api/v1')).to.deep.equal({ kind: 'key', scope: null });
      // express matches routes case-insensitively: so does the gate.
      expect(accessFor('GET', '/API/V1/Admin/API-Keys')).to.deep.equal({ kind: 'key', scope: Scope.admin });
      expect(accessFor('GET', '/Api/v1/nothing')).to.deep.equal({ kind: 'key', scope: null });
      // One segment per parameter: a deeper path is not the route.
      expect(accessFor('GET', '/api/v1/orders/a/b')).to.deep.equal({ kind: 'key', scope: null });
    });

    it('sends the most specific routes to their own scopes (refunds are not orders:write)', () => {
      expect(accessFor('POST', '/api/v1/orders/x/refunds')).to.deep.equal({ kind: 'key', scope: Scope.refundsWrite });
      expect(accessFor('POST', '/api/v1/orders/x/cancel')).to.deep.equal({ kind: 'key', scope: Scope.ordersWrite });
      expect(accessFor('GET', '/api/v1/admin/api-keys')).to.deep.equal({ kind: 'key', scope: Scope.admin });
      expect(accessFor('GET', '/api/v1/admin/ops')).to.deep.equal({ kind: 'key', scope: Scope.admin });
    });

    it('leaves the ops page itself open (its data needs the admin key)', () => {
      expect(accessFor('GET', '/ops')).to.deep.equal({ kind: 'open' });
      expect(accessFor('GET', '/ops/ops.js')).to.deep.equal({ kind: 'open' });
    });
  });

  describe('scopes', () => {
    it('a scope allows only itself; admin allows every scope', () => {
      for (const granted of SCOPES) {
        for (const needed of SCOPES) {
          expect(hasScope([granted], needed), `${granted} → ${needed}`).to.equal(granted === needed || granted === Scope.admin);
        }
      }
      expect(hasScope([], Scope.ordersRead)).to.equal(false);
    });

    it('admin keys are never rate limited; others are', () => {
      expect(isRateLimited(principal({ scopes: [Scope.admin] }))).to.equal(false);
      expect(isRateLimited(principal({ scopes: [Scope.ordersWrite, Scope.ordersRead] }))).to.equal(true);
    });
  });

  describe('Bearer tokens', () => {
    it('takes the token of a Bearer header, the scheme in any case', () => {
      expect(bearerToken('Bearer oms_abc-DEF_12')).to.equal('oms_abc-DEF_12');
      expect(bearerToken('bearer abc')).to.equal('abc');
      expect(bearerToken('BEARER  abc=')).to.equal('abc=');
    });

    it('refuses anything else', () => {
      for (const header of [undefined, '', 'Bearer', 'Bearer ', 'Basic dXNlcjpwdw==', 'Bearer a b', 'Bearer a,b', 'abc']) {
        expect(bearerToken(header), String(header)).to.equal(undefined);
      }
    });
  });

  describe('channels', () => {
    it("a channel's key places in its channel: omitted → the key's, another → forbidden", () => {
      const web = principal({ channel: 'web' });
      expect(channelForWrite(web, undefined)).to.deep.equal({ kind: 'take-key-channel', channel: 'web' });
      expect(channelForWrite(web, 'web')).to.deep.equal({ kind: 'as-sent' });
      expect(channelForWrite(web, 'pos')).to.deep.equal({ kind: 'forbidden', keyChannel: 'web' });
      expect(channelForWrite(web, 42)).to.deep.equal({ kind: 'forbidden', keyChannel: 'web' });
    });

    it('a back-office key writes as sent (the schema then checks the channel)', () => {
      expect(channelForWrite(principal(), undefined)).to.deep.equal({ kind: 'as-sent' });
      expect(channelForWrite(principal(), 'pos')).to.deep.equal({ kind: 'as-sent' });
    });

    it("a channel's key sees its channel only; a back-office key sees all", () => {
      expect(seesChannel(principal({ channel: 'web' }), 'web')).to.equal(true);
      expect(seesChannel(principal({ channel: 'web' }), 'mobile')).to.equal(false);
      expect(seesChannel(principal({ channel: 'web' }), undefined)).to.equal(false);
      expect(seesChannel(principal(), 'mobile')).to.equal(true);
    });
  });
});

describe('API key cache (platform/authentication ApiKeyCache)', () => {
  const setup = () => {
    let now = 1_000;
    const lookups: string[] = [];
    const known = new Map<string, Principal>([['good', principal({ keyId: 'good-id' })]]);
    const cache = new ApiKeyCache(
      async (key) => {
        lookups.push(key);
        return known.get(key);
      },
      5_000,
      () => now,
    );
    return { cache, lookups, known, tick: (ms: number) => (now += ms) };
  };

  it('looks a key up once per TTL, answering from memory (synchronously) in between', async () => {
    const { cache, lookups, tick } = setup();
    expect(await cache.resolve('good')).to.include({ keyId: 'good-id' });
    tick(4_999);
    const cached = cache.resolve('good');
    expect(cached).to.not.be.instanceOf(Promise);
    expect(cached).to.include({ keyId: 'good-id' });
    expect(lookups).to.deep.equal(['good']);
    tick(1);
    await cache.resolve('good');
    expect(lookups).to.deep.equal(['good', 'good']);
  });

  it('remembers unknown keys too, for the same TTL', async () => {
    const { cache, lookups } = setup();
    expect(await cache.resolve('nope')).to.equal(null);
    expect(cache.resolve('nope')).to.equal(null);
    expect(lookups).to.deep.equal(['nope']);
  });

  it('sees a revocation after the TTL, or at once after forget(key id)', async () => {
    const { cache, known, tick } = setup();
    await cache.resolve('good');
    known.delete('good');
    expect(cache.resolve('good')).to.include({ keyId: 'good-id' });
    tick(5_000);
    expect(await cache.resolve('good')).to.equal(null);

    known.set('good', principal({ keyId: 'good-id' }));
    tick(5_000);
    await cache.resolve('good');
    known.delete('good');
    cache.forget('good-id');
    expect(await cache.resolve('good')).to.equal(null);
  });

  it('shares one lookup between concurrent misses, and does not cache a failed lookup', async () => {
    let calls = 0;
    let fail = true;
    const cache = new ApiKeyCache(async () => {
      calls++;
      if (fail) throw new Error('database down');
      return principal();
    }, 5_000);
    const [a, b] = [cache.resolve('k'), cache.resolve('k')];
    expect(a).to.equal(b);
    await Promise.allSettled([a, b]);
    expect(calls).to.equal(1);
    fail = false;
    expect(await cache.resolve('k')).to.include({ keyId: 'k1' });
    expect(calls).to.equal(2);
  });
});
