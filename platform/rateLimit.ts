import { createHash } from 'node:crypto';
import { isRateLimited, type Principal, type RateLimit } from './access.js';
import type { RateDecision, RateLimiter } from './authentication.js';
import type { Logger } from './logger.js';
import type { Redis } from './redis.js';

/**
 * Rate limits per API key (contract §8): a token bucket per key in Redis, so every replica of the API
 * draws from the same bucket. One Lua script takes a token atomically with Redis's own clock (no clock
 * skew between replicas): one round trip per request, and none for an admin key (never limited).
 *
 * The bucket holds at most `burst` tokens and refills `per_second` tokens a second; a request takes one.
 * Its state is a hash {t: tokens, at: ms of the last refill} that expires once it would be full again.
 */
export const TOKEN_BUCKET_LUA = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  at = now
end
tokens = math.min(tokens, burst)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
local full = math.ceil((burst - tokens) * 1000 / rate)
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], full + 1000)
return {allowed, math.floor(tokens), wait, full}
`;

const TOKEN_BUCKET_SHA = createHash('sha1').update(TOKEN_BUCKET_LUA).digest('hex');

/** What the script answered for one request. */
export interface BucketOutcome {
  readonly allowed: boolean;
  /** Whole tokens left after this request. */
  readonly remaining: number;
  /** When refused: milliseconds until a token is back. */
  readonly retryAfterMs: number;
  /** Milliseconds until the bucket is full again. */
  readonly fullInMs: number;
}

/** The script's reply, checked (a reply of another shape is an error, and the request is let through). */
export function parseBucketReply(reply: unknown): BucketOutcome {
  if (!Array.isArray(reply) || reply.length !== 4 || !reply.every((v) => typeof v === 'number')) {
    throw new Error(`unexpected token bucket reply ${JSON.stringify(reply)}`);
  }
  const [allowed, remaining, wait, full] = reply as number[];
  return { allowed: allowed === 1, remaining: remaining ?? 0, retryAfterMs: wait ?? 0, fullInMs: full ?? 0 };
}

/**
 * The answer's headers (draft-ietf-httpapi-ratelimit-headers, structured fields): the policy as a quota
 * of `burst` requests per window of the time the bucket takes to fill (`q`, `w`), and the current state:
 * requests `r` left and seconds `t` until it is full again (until a request is possible, when refused).
 * A refusal also gets `Retry-After` in whole seconds, at least 1.
 */
export function rateLimitDecision(limit: RateLimit, outcome: BucketOutcome): RateDecision {
  const window = Math.max(1, Math.ceil(limit.burst / limit.perSecond));
  const retryAfterSeconds = Math.max(1, Math.ceil(outcome.retryAfterMs / 1000));
  const resetSeconds = outcome.allowed ? Math.ceil(outcome.fullInMs / 1000) : retryAfterSeconds;
  return {
    allowed: outcome.allowed,
    retryAfterSeconds,
    headers: {
      'RateLimit-Policy': `"per-key";q=${limit.burst};w=${window}`,
      RateLimit: `"per-key";r=${Math.max(0, outcome.remaining)};t=${resetSeconds}`,
    },
  };
}

export interface RateLimiterOptions {
  readonly redis: Redis;
  /** The system's Redis prefix (REDIS_PREFIX): buckets are `<prefix>:ratelimit:<key id>`. */
  readonly prefix: string;
  /** A key created without a rate_limit gets this one. */
  readonly defaults: RateLimit;
  readonly logger: Logger;
  /** A Redis that does not answer within this lets the request through (the API does not stop for it). */
  readonly timeoutMs?: number;
}

/** The limiter the authentication gate calls once per request of a limited key. */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { redis, prefix, defaults, logger } = options;
  const timeoutMs = options.timeoutMs ?? 250;
  let lastWarning = 0;
  const take = async (key: string, limit: RateLimit): Promise<unknown> => {
    const args = [key, String(limit.perSecond), String(limit.burst)];
    try {
      return await redis.evalsha(TOKEN_BUCKET_SHA, 1, ...args);
    } catch (error) {
      // The first call after a Redis restart (or on a new server): load the script with this one call.
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return redis.eval(TOKEN_BUCKET_LUA, 1, ...args);
      throw error;
    }
  };
  return (principal: Principal) => {
    if (!isRateLimited(principal)) return undefined;
    const limit = principal.rateLimit ?? defaults;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`rate limiter: Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([take(`${prefix}:ratelimit:${principal.keyId}`, limit), timeout]).then(
      (reply) => {
        clearTimeout(timer);
        return rateLimitDecision(limit, parseBucketReply(reply));
      },
      (error: unknown) => {
        clearTimeout(timer);
        // Fails open, warning at most every 10 s rather than once per request.
        if (Date.now() - lastWarning > 10_000) {
          lastWarning = Date.now();
          logger.warn({ err: error }, 'rate limiter unavailable; requests are let through');
        }
        return undefined;
      },
    );
  };
}
