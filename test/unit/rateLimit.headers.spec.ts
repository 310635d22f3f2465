import { expect } from 'chai';
import { parseBucketReply, rateLimitDecision } from '../../platform/rateLimit.js';

describe('rate limit answers (platform/rateLimit, pure)', () => {
  const limit = { perSecond: 10, burst: 50 };

  it('an allowed request tells the policy (burst per fill time) and what is left until the bucket is full', () => {
    const decision = rateLimitDecision(limit, { allowed: true, remaining: 42, retryAfterMs: 0, fullInMs: 800 });
    expect(decision.allowed).to.equal(true);
    expect(decision.headers).to.deep.equal({
      'RateLimit-Policy': '"per-key";q=50;w=5',
      RateLimit: '"per-key";r=42;t=1',
    });
  });

  it('a refused request says when to come back, in whole seconds and at least 1', () => {
    const refused = rateLimitDecision(limit, { allowed: false, remaining: 0, retryAfterMs: 100, fullInMs: 5_000 });
    expect(refused.allowed).to.equal(false);
    expect(refused.retryAfterSeconds).to.equal(1);
    expect(refused.headers.RateLimit).to.equal('"per-key";r=0;t=1');
    const slow = rateLimitDecision(
      { perSecond: 1, burst: 1 },
      { allowed: false, remaining: 0, retryAfterMs: 2_500, fullInMs: 2_500 },
    );
    expect(slow.retryAfterSeconds).to.equal(3);
    expect(slow.headers['RateLimit-Policy']).to.equal('"per-key";q=1;w=1');
  });

  it("reads the script's reply, and refuses a reply of another shape", () => {
    expect(parseBucketReply([1, 4, 0, 600])).to.deep.equal({ allowed: true, remaining: 4, retryAfterMs: 0, fullInMs: 600 });
    expect(parseBucketReply([0, 0, 250, 5_000])).to.deep.equal({
      allowed: false,
      remaining: 0,
      retryAfterMs: 250,
      fullInMs: 5_000,
    });
    for (const bad of [null, 'OK', [1, 2, 3], [1, '2', 3, 4]]) expect(() => parseBucketReply(bad)).to.throw();
  });
});
