import { expect } from 'chai';
import type { Principal } from '../../platform/access.js';
import type { RateDecision } from '../../platform/authentication.js';
import { createLogger } from '../../platform/logger.js';
import { createRateLimiter } from '../../platform/rateLimit.js';
import { createRedis, type Redis } from '../../platform/redis.js';
import { eventually, testConfig, uniqueId } from '../support/env.js';

describe('token bucket per API key in Redis (platform/rateLimit)', () => {
  let redis: Redis;
  const prefix = `test:${uniqueId('ratelimit')}`;
  const logger = createLogger('rate-limit-test', 'silent');
  const limiterOn = (client: Redis) =>
    createRateLimiter({ redis: client, prefix, defaults: { perSecond: 100, burst: 200 }, logger });
  const key = (over: Partial<Principal> = {}): Principal => ({
    keyId: uniqueId('key'),
    name: 'test',
    channel: 'web',
    scopes: ['orders:write'],
    rateLimit: { perSecond: 2, burst: 3 },
    ...over,
  });

  before(() => {
    redis = createRedis(testConfig().redisUrl, 'rate-limit-test');
  });
  after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  const take = async (limiter: ReturnType<typeof createRateLimiter>, principal: Principal): Promise<RateDecision> => {
    const decision = await limiter(principal);
    if (decision === undefined) throw new Error('not limited');
    return decision;
  };

  it('allows a burst, refuses the next with Retry-After, and refills at the key’s rate', async () => {
    const limiter = limiterOn(redis);
    const principal = key();
    const burst = [await take(limiter, principal), await take(limiter, principal), await take(limiter, principal)];
    expect(burst.map((d) => d.allowed)).to.deep.equal([true, true, true]);
    expect(burst.map((d) => d.headers.RateLimit)).to.deep.equal(['"per-key";r=2;t=1', '"per-key";r=1;t=1', '"per-key";r=0;t=2']);
    const refused = await take(limiter, principal);
    expect(refused.allowed).to.equal(false);
    expect(refused.retryAfterSeconds).to.equal(1);
    // 2 tokens a second: one is back within half a second.
    await eventually('a token back', async () => ((await take(limiter, principal)).allowed ? true : undefined), 2_000, 100);
  });

  it('is one bucket for every replica: two limiters (two API processes) draw from the same tokens', async () => {
    const other = createRedis(testConfig().redisUrl, 'rate-limit-test-2');
    try {
      const [a, b] = [limiterOn(redis), limiterOn(other)];
      const principal = key({ rateLimit: { perSecond: 1, burst: 4 } });
      const answers = await Promise.all([
        take(a, principal),
        take(b, principal),
        take(a, principal),
        take(b, principal),
        take(a, principal),
      ]);
      expect(answers.filter((d) => d.allowed)).to.have.length(4);
      expect(answers.filter((d) => !d.allowed)).to.have.length(1);
    } finally {
      other.disconnect();
    }
  });

  it('keys are limited apart; a key without its own limit gets the default; an admin key is never limited (no Redis call)', async () => {
    const limiter = limiterOn(redis);
    const tight = key({ rateLimit: { perSecond: 1, burst: 1 } });
    expect((await take(limiter, tight)).allowed).to.equal(true);
    expect((await take(limiter, tight)).allowed).to.equal(false);
    const other = key({ rateLimit: { perSecond: 1, burst: 1 } });
    expect((await take(limiter, other)).allowed).to.equal(true);
    const defaulted = await take(limiter, key({ rateLimit: undefined }));
    expect(defaulted.headers['RateLimit-Policy']).to.equal('"per-key";q=200;w=2');
    expect(limiter(key({ scopes: ['admin'] }))).to.equal(undefined);
  });

  it('lets requests through when Redis does not answer (fails open within its timeout)', async () => {
    const dead = createRedis('redis://127.0.0.1:1', 'rate-limit-dead');
    try {
      const limiter = createRateLimiter({ redis: dead, prefix, defaults: { perSecond: 1, burst: 1 }, logger, timeoutMs: 100 });
      const started = Date.now();
      expect(await limiter(key())).to.equal(undefined);
      expect(Date.now() - started).to.be.below(1_000);
    } finally {
      dead.disconnect();
    }
  });
});
