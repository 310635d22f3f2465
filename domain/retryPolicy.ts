/**
 * When to try again after a failure, and which failures are worth trying again without counting them.
 * One policy for every retry in the system: stream and Kafka consumers, the saga's partner calls, the
 * change sagas' waits for the PSP. Pure: no I/O, the random source passed in where tests need it fixed.
 */

/** Exponential backoff: the ceiling doubles from `baseMs` with each attempt, up to `maxMs`. */
export interface Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * Partner calls (the PSP) are retried 250 ms doubling to 2 s, so a saga notices within about 2 s that
 * the partner (or its circuit breaker) lets calls through again.
 */
export const PARTNER_BACKOFF: Backoff = Object.freeze({ baseMs: 250, maxMs: 2_000 });

/** The ceiling of attempt n's delay (n ≥ 1): baseMs · 2^(n − 1), at most maxMs. */
export function backoffCeilingMs(backoff: Backoff, attempt: number): number {
  const doublings = Math.min(Math.max(0, attempt - 1), 30);
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** doublings);
}

/**
 * The delay before attempt n + 1 after n failures, with full jitter: uniformly in [0, ceiling(n)], so
 * many failures at once (every consumer during an outage) do not come back at once. A partner's own
 * hint (an open circuit breaker says when it lets a call through) comes first, the jitter on top.
 */
export function retryDelayMs(backoff: Backoff, attempt: number, hintMs = 0, random: () => number = Math.random): number {
  return Math.max(0, hintMs) + Math.floor(random() * backoffCeilingMs(backoff, attempt));
}

/** PostgreSQL SQLSTATEs that say "not now" rather than "never": the same statement may succeed later. */
const TRANSIENT_SQLSTATES: ReadonlySet<string> = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);

/** Node's network error codes: the other side is not there right now. */
const TRANSIENT_NODE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTCONN',
  'EAI_AGAIN',
]);

/** Client libraries' own words for a lost or unready connection (pg, ioredis, kafkajs). */
const TRANSIENT_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|Connection is closed|max retries per request|Stream isn't writeable/i;
/** Redis answers that mean "not now": loading its data, a replica, a failover under way. */
const TRANSIENT_REDIS_REPLIES = /^(LOADING|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN) /;

const TRANSIENT_NAMES: ReadonlySet<string> = new Set([
  'MaxRetriesPerRequestError',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
]);

/**
 * Whether a failure is the infrastructure's, not the message's: a connection refused or reset,
 * PostgreSQL shutting down, starting or out of connections, a serialization failure or deadlock, Redis
 * or Kafka unreachable, or an error that says so itself (`transient: true`, as an unanswering partner
 * does). Such a failure is retried until the infrastructure is back and is never counted towards
 * dead-lettering. Causes are followed (`cause`, AggregateError's `errors`, kafkajs' `originalError`).
 */
export function isTransientError(error: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (value: unknown): boolean => {
    if (typeof value !== 'object' || value === null || seen.has(value)) return false;
    seen.add(value);
    const e = value as {
      code?: unknown;
      name?: unknown;
      message?: unknown;
      transient?: unknown;
      cause?: unknown;
      errors?: unknown;
      originalError?: unknown;
    };
    if (e.transient === true) return true;
    if (typeof e.code === 'string') {
      if (TRANSIENT_SQLSTATES.has(e.code) || TRANSIENT_NODE_CODES.has(e.code)) return true;
      if (/^08[0-9A-Z]{3}$/.test(e.code)) return true; // connection_exception class
    }
    if (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) return true;
    if (typeof e.message === 'string' && (TRANSIENT_MESSAGES.test(e.message) || TRANSIENT_REDIS_REPLIES.test(e.message)))
      return true;
    if (Array.isArray(e.errors) && e.errors.some(visit)) return true;
    return visit(e.cause) || visit(e.originalError);
  };
  return visit(error);
}
