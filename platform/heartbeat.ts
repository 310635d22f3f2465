import { hostname } from 'node:os';
import { breakerFields, breakersKey, onBreakerStateChange } from './breakerStates.js';
import type { HealthCheck } from './health.js';
import type { Logger } from './logger.js';
import type { Redis } from './redis.js';

/**
 * Worker heartbeats: each service process writes `<kind>/<instance>` with the time into one sorted
 * set in Redis (`<prefix>:heartbeats`) every few seconds; the API's readiness wants a fresh beat of
 * every kind it expects. A process stopped cleanly removes its beat at once; a dead one stops beating
 * and is stale after `maxAgeMs`.
 */
export function heartbeatsKey(prefix: string): string {
  return `${prefix}:heartbeats`;
}

export interface Heartbeat {
  readonly kind: string;
  readonly instance: string;
  /** When it beat (ms since the epoch, the writer's clock). */
  readonly at: number;
}

export interface WorkerFreshness {
  /** Expected kinds without a beat younger than maxAgeMs, with the age of their last one (undefined: never seen). */
  readonly missing: ReadonlyArray<{ readonly kind: string; readonly lastSeenMsAgo: number | undefined }>;
  /** Instances with a fresh beat, per expected kind. */
  readonly fresh: Readonly<Record<string, number>>;
}

/** Which expected kinds have a fresh heartbeat at `now` (pure: the readiness check's decision). */
export function workerFreshness(
  expected: readonly string[],
  beats: readonly Heartbeat[],
  now: number,
  maxAgeMs: number,
): WorkerFreshness {
  const fresh: Record<string, number> = {};
  const newest = new Map<string, number>();
  for (const beat of beats) {
    newest.set(beat.kind, Math.max(newest.get(beat.kind) ?? -Infinity, beat.at));
    if (now - beat.at <= maxAgeMs) fresh[beat.kind] = (fresh[beat.kind] ?? 0) + 1;
  }
  const missing = expected
    .filter((kind) => (fresh[kind] ?? 0) === 0)
    .map((kind) => {
      const last = newest.get(kind);
      return { kind, lastSeenMsAgo: last === undefined ? undefined : Math.max(0, now - last) };
    });
  return { missing, fresh: Object.fromEntries(expected.map((kind) => [kind, fresh[kind] ?? 0])) };
}

/** One sentence naming every worker kind without a fresh heartbeat. */
export function describeMissing(missing: WorkerFreshness['missing']): string {
  return `no heartbeat from ${missing
    .map(({ kind, lastSeenMsAgo }) =>
      lastSeenMsAgo === undefined ? `${kind} (never seen)` : `${kind} (last ${(lastSeenMsAgo / 1000).toFixed(1)} s ago)`,
    )
    .join(', ')}`;
}

/** Every heartbeat in the set, stale ones included (the ops overview shows their age). */
export async function readHeartbeats(redis: Redis, prefix: string): Promise<Heartbeat[]> {
  return parseBeats(await redis.zrange(heartbeatsKey(prefix), 0, '-1', 'WITHSCORES'));
}

/** Parses ZRANGE … WITHSCORES: `kind/instance`, score, … */
function parseBeats(raw: readonly string[]): Heartbeat[] {
  const beats: Heartbeat[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const member = raw[i] ?? '';
    const slash = member.indexOf('/');
    beats.push({
      kind: slash === -1 ? member : member.slice(0, slash),
      instance: member.slice(slash + 1),
      at: Number(raw[i + 1]),
    });
  }
  return beats;
}

/** Readiness: fails naming each expected worker kind whose heartbeat is missing or older than maxAgeMs. */
export function workerHeartbeatCheck(redis: Redis, prefix: string, expected: readonly string[], maxAgeMs: number): HealthCheck {
  return async () => {
    const beats = await readHeartbeats(redis, prefix);
    const freshness = workerFreshness(expected, beats, Date.now(), maxAgeMs);
    if (freshness.missing.length > 0) throw new Error(describeMissing(freshness.missing));
    return freshness.fresh;
  };
}

/**
 * Beats for this process every intervalMs (the first at once); beats older than an hour are swept
 * from the set on the way. Each beat also writes this process's partner breaker states
 * (platform/breakerStates), and a breaker changing state beats at once. stop() removes this
 * instance's beat and breaker states.
 */
export function startHeartbeat(
  redis: Redis,
  prefix: string,
  kind: string,
  intervalMs: number,
  logger: Logger,
): { readonly member: string; stop(): Promise<void> } {
  const key = heartbeatsKey(prefix);
  const member = `${kind}/${hostname()}:${process.pid}`;
  let failing = false;
  const breakers = breakersKey(prefix);
  const beat = () => {
    const now = Date.now();
    const fields = breakerFields(member, now);
    const transaction = redis
      .multi()
      .zadd(key, now, member)
      .zremrangebyscore(key, '-inf', now - 3_600_000);
    if (fields.length > 0) transaction.hset(breakers, ...fields);
    transaction.exec().then(
      () => {
        if (failing) logger.info('heartbeat written again');
        failing = false;
      },
      (error: unknown) => {
        if (!failing) logger.warn({ err: error }, 'heartbeat not written; readiness will report this worker missing');
        failing = true;
      },
    );
  };
  beat();
  const timer = setInterval(beat, intervalMs);
  timer.unref();
  const unsubscribe = onBreakerStateChange(beat);
  return {
    member,
    async stop() {
      clearInterval(timer);
      unsubscribe();
      const fields = breakerFields(member, 0).filter((_, i) => i % 2 === 0);
      // Bounded: a Redis that is down must not hold up the shutdown (the beat then just grows stale).
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([redis.zrem(key, member), fields.length > 0 ? redis.hdel(breakers, ...fields) : 0]).catch(() => undefined),
        new Promise((resolve) => (timeout = setTimeout(resolve, 1_000))),
      ]);
      clearTimeout(timeout);
    },
  };
}
