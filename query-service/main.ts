import { ApiKeyCache } from '../platform/authentication.js';
import { loadConfig } from '../platform/config.js';
import { poolFromConfig } from '../platform/db.js';
import { createRateLimiter } from '../platform/rateLimit.js';
import { createRedis } from '../platform/redis.js';
import { runService } from '../platform/service.js';
import { createQueryApp } from './app.js';
import { listen } from '../platform/http.js';
import { traceRequests } from '../platform/requestTrace.js';
import { createQueryHandler } from './server.js';

/** The query service process: the read API on QUERY_PORT, from the read tables only. */
await runService('query-service', async ({ logger, onStop }) => {
  const config = loadConfig();
  const pool = poolFromConfig(config, 'query-service');
  const redis = createRedis(config.redisUrl, 'query-service');
  const app = createQueryApp({ pool, logger, healthChecks: { postgres: () => pool.query('SELECT 1') } });
  const server = await listen(
    traceRequests(
      createQueryHandler(pool, app, {
        keys: ApiKeyCache.forDatabase(pool, config.apiKeyCacheMs),
        // Per-key token buckets in Redis, shared with every other replica of the API (admin keys never limited).
        limiter: createRateLimiter({
          redis,
          prefix: config.redisPrefix,
          defaults: { perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst },
          logger,
        }),
        logger,
      }),
      { logger },
    ),
    config.host,
    config.queryPort,
  );
  logger.info({ port: server.port }, 'query service listening');
  onStop(async () => {
    await server.close();
    await pool.end();
    redis.disconnect();
  });
});
