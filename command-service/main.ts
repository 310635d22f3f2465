import { loadConfig } from '../platform/config.js';
import { poolFromConfig } from '../platform/db.js';
import { kafkaHealthCheck } from '../platform/health.js';
import { listen } from '../platform/http.js';
import { createKafka } from '../platform/kafka.js';
import { createRedis } from '../platform/redis.js';
import { runService } from '../platform/service.js';
import { createCommandHandler } from './app.js';
import { startHousekeeping } from './housekeeping.js';

/**
 * The command service alone: the write API on COMMAND_PORT, for a deployment that scales writes apart
 * from reads (`npm start` serves both from one process, api/main.ts). The only place its dependencies are wired.
 */
await runService('command-service', async ({ logger, onStop }) => {
  const config = loadConfig();
  const pool = poolFromConfig(config, 'command-service');
  const redis = createRedis(config.redisUrl, 'command-service');
  const kafkaAdmin = createKafka(config.kafkaBrokers, 'command-service-health').admin();

  const handler = createCommandHandler({
    pool,
    config,
    logger,
    healthChecks: {
      postgres: () => pool.query('SELECT 1'),
      redis: () => redis.ping(),
      kafka: kafkaHealthCheck(kafkaAdmin),
    },
  });
  const server = await listen(handler, config.host, config.commandPort);
  logger.info({ port: server.port, host: config.host }, 'command service listening');
  const stopHousekeeping = startHousekeeping(pool, config, logger);

  onStop(async () => {
    stopHousekeeping();
    await server.close();
    await Promise.allSettled([pool.end(), redis.quit(), kafkaAdmin.disconnect()]);
  });
});
