import type http from 'node:http';
import { ApiKeyCache, type RateLimiter } from '../platform/authentication.js';
import type { Config } from '../platform/config.js';
import { countDeadLetters, lazyProducer, redriveTargets } from '../platform/deadLetters.js';
import { poolFromConfig, type Pool } from '../platform/db.js';
import { kafkaHealthCheck } from '../platform/health.js';
import { workerHeartbeatCheck } from '../platform/heartbeat.js';
import { createKafka } from '../platform/kafka.js';
import { gaugeOnScrape } from '../platform/metrics.js';
import { pressureKey, PressureSignal } from '../platform/pressure.js';
import { createRateLimiter } from '../platform/rateLimit.js';
import { createRedis } from '../platform/redis.js';
import { startRequestHistory } from '../platform/requestHistory.js';
import { Shutdown, type ServiceDeps } from '../platform/wiring.js';
import { createCommandHandler } from './app.js';
import { startHousekeeping } from './housekeeping.js';

/** The write side as a process runs it: its pool, its request handler, its health checks and housekeeping. */
export interface CommandService {
  readonly pool: Pool;
  readonly handler: http.RequestListener;
  /** The process's API key cache, for the query service when one process serves both. */
  readonly keys: ApiKeyCache;
  readonly limiter: RateLimiter;
  /** Stops housekeeping and closes every connection. */
  close(): Promise<void>;
}

/**
 * Wires the command service for a process (the command service alone, or the API front that serves it
 * with the query service): PostgreSQL, Redis and Kafka connections (the caller's when it gives them), the health checks of all three
 * and of the workers' heartbeats, and the housekeeping of keys and partitions.
 */
export function wireCommandService(config: Config, deps: ServiceDeps, name: string): CommandService {
  const { logger } = deps;
  const shutdown = new Shutdown();
  const pool = shutdown.own(
    deps.pool,
    () => poolFromConfig(config, name),
    (p) => p.end(),
  );
  const redis = shutdown.own(
    deps.redis,
    () => createRedis(config.redisUrl, name),
    (r) => r.quit(),
  );
  const kafkaAdmin = (deps.kafka ?? createKafka(config.kafkaBrokers, `${name}-health`)).admin();
  shutdown.add(() => kafkaAdmin.disconnect());
  // Re-driving a dead letter of a Kafka consumer produces it again: connected on the first re-drive only.
  const producer = lazyProducer(() => (deps.kafka ?? createKafka(config.kafkaBrokers, `${name}-redrive`)).producer());
  shutdown.add(() => producer.close());
  const keys = ApiKeyCache.forDatabase(pool, config.apiKeyCacheMs);
  // Per-key token buckets in Redis, shared by every replica (admin keys are never limited).
  const limiter: RateLimiter = createRateLimiter({
    redis,
    prefix: config.redisPrefix,
    defaults: { perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst },
    logger,
  });
  // The ops page's requests per minute, sampled from this process's request histogram.
  const requests = startRequestHistory();
  const handler = createCommandHandler({
    pool,
    keys,
    limiter,
    config,
    logger,
    healthChecks: {
      postgres: () => pool.query('SELECT 1'),
      redis: () => redis.ping(),
      kafka: kafkaHealthCheck(kafkaAdmin),
      // Readiness also wants the workers behind the API: a placed order goes nowhere without them.
      ...(config.readyWorkers.length === 0
        ? {}
        : { workers: workerHeartbeatCheck(redis, config.redisPrefix, config.readyWorkers, config.heartbeatMaxAgeMs) }),
    },
    redrive: redriveTargets(redis, producer.get),
    pressure: new PressureSignal(redis, pressureKey(config.redisPrefix), config.pressureHoldMs),
    ops: { redis, layout: { prefix: config.redisPrefix, partitions: config.redisStreamPartitions }, requests },
  });
  const removeGauge = gaugeOnScrape(
    'oms_dead_letters',
    'Dead letters waiting for an operator (status dead), by consumer',
    'source',
    () => countDeadLetters(pool),
  );
  // The gauge reads this pool: gone with it, for a process (a test's) that goes on after this service stops.
  shutdown.add(removeGauge);
  shutdown.add(() => requests.stop());
  shutdown.add(startHousekeeping(pool, config, logger));
  return { pool, handler, keys, limiter, close: () => shutdown.run() };
}
