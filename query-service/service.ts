import type http from 'node:http';
import { ApiKeyCache, type AuthGateOptions, type RateLimiter } from '../platform/authentication.js';
import type { Config } from '../platform/config.js';
import { poolFromConfig, type Pool } from '../platform/db.js';
import { listen } from '../platform/http.js';
import { createRateLimiter } from '../platform/rateLimit.js';
import { createRedis } from '../platform/redis.js';
import { traceRequests } from '../platform/requestTrace.js';
import { startService, type ServiceDeps, type Started } from '../platform/wiring.js';
import { createQueryApp } from './app.js';
import { createQueryHandler } from './server.js';

export interface QueryStartDeps extends ServiceDeps {
  /** One key cache and rate limiter per process: given when the command service of the process has them. */
  readonly keys?: ApiKeyCache;
  readonly limiter?: RateLimiter;
}

/** The read API on a pool, behind the key gate: the hot order read on node:http, the rest on express. */
export function queryHandler(pool: Pool, auth: AuthGateOptions): http.RequestListener {
  const app = createQueryApp({ pool, logger: auth.logger, healthChecks: { postgres: () => pool.query('SELECT 1') } });
  return createQueryHandler(pool, app, auth);
}

/** The query service: the read API on QUERY_PORT, from the read tables only. */
export function start(config: Config, deps: QueryStartDeps): Promise<Started<{ readonly port: number }>> {
  const { logger } = deps;
  return startService(async (shutdown) => {
    const pool = shutdown.pool(deps.pool, () => poolFromConfig(config, 'query-service'));
    const limiter =
      deps.limiter ??
      // Per-key token buckets in Redis, shared with every other replica of the API (admin keys never limited).
      createRateLimiter({
        redis: shutdown.own(
          deps.redis,
          () => createRedis(config.redisUrl, 'query-service'),
          (r) => r.disconnect(),
        ),
        prefix: config.redisPrefix,
        defaults: { perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst },
        logger,
      });
    const keys = deps.keys ?? ApiKeyCache.forDatabase(pool, config.apiKeyCacheMs);
    const handler = traceRequests(queryHandler(pool, { keys, limiter, logger }), { logger });
    const server = await listen(handler, config.host, config.queryPort);
    shutdown.add(() => server.close());
    logger.info({ port: server.port }, 'query service listening');
    return { port: server.port };
  });
}
