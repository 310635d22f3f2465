import { loadConfig } from '../platform/config.js';
import { poolFromConfig } from '../platform/db.js';
import { listen } from '../platform/http.js';
import { purgeExpiredIdempotencyKeys } from '../platform/idempotency.js';
import { createKafka } from '../platform/kafka.js';
import { ensureOrderPartitions } from '../platform/orderPartitions.js';
import { createRedis } from '../platform/redis.js';
import { runService } from '../platform/service.js';
import { createCommandApp } from './app.js';

/** The command service process: the write API on PORT. The only place its dependencies are wired. */
await runService('command-service', async ({ logger, onStop }) => {
  const config = loadConfig();
  const pool = poolFromConfig(config, 'command-service');
  const redis = createRedis(config.redisUrl, 'command-service');
  const kafkaAdmin = createKafka(config.kafkaBrokers, 'command-service-health').admin();
  let kafkaConnected = false;

  const app = createCommandApp({
    pool,
    config,
    logger,
    healthChecks: {
      postgres: () => pool.query('SELECT 1'),
      redis: () => redis.ping(),
      kafka: async () => {
        if (!kafkaConnected) {
          await kafkaAdmin.connect();
          kafkaConnected = true;
        }
        try {
          return await kafkaAdmin.describeCluster();
        } catch (error) {
          kafkaConnected = false;
          await kafkaAdmin.disconnect().catch(() => undefined);
          throw error;
        }
      },
    },
  });
  const server = await listen(app, config.host, config.commandPort);
  logger.info({ port: server.port, host: config.host }, 'command service listening');

  // Housekeeping: Idempotency-Keys live at least IDEMPOTENCY_TTL_HOURS, then go; order partitions are
  // kept ORDER_PARTITIONS_AHEAD_MONTHS ahead.
  const housekeeping = [
    every(10 * 60_000, async () => {
      const purged = await purgeExpiredIdempotencyKeys(pool);
      if (purged > 0) logger.info({ purged }, 'expired idempotency keys purged');
    }),
    every(24 * 3_600_000, async () => {
      const created = await ensureOrderPartitions(pool, config.orderPartitionsAheadMonths);
      if (created > 0) logger.info({ created }, 'order partitions created');
    }),
  ];

  function every(ms: number, task: () => Promise<void>): NodeJS.Timeout {
    const timer = setInterval(() => {
      task().catch((error: unknown) => logger.warn({ err: error }, 'housekeeping task failed'));
    }, ms);
    timer.unref();
    return timer;
  }

  onStop(async () => {
    housekeeping.forEach(clearInterval);
    await server.close();
    await Promise.allSettled([pool.end(), redis.quit(), kafkaAdmin.disconnect()]);
  });
});
