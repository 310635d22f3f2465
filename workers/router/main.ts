import { loadConfig } from '../../platform/config.js';
import { poolFromConfig } from '../../platform/db.js';
import { createRedis } from '../../platform/redis.js';
import { runService } from '../../platform/service.js';
import { RouterWorker, routerWorkerSettings } from './routerWorker.js';

/** The fulfillment router process. */
await runService('router', async ({ logger, onStop }) => {
  const config = loadConfig();
  const pool = poolFromConfig(config, 'router');
  const reader = createRedis(config.redisUrl, 'router-reader');
  const commands = createRedis(config.redisUrl, 'router');
  const worker = new RouterWorker({ pool, reader, commands, logger, ...routerWorkerSettings(config) });
  await worker.start();
  logger.info({ consumer: worker.consumer.consumer }, 'router running');
  onStop(async () => {
    await worker.stop();
    reader.disconnect();
    await Promise.allSettled([commands.quit(), pool.end()]);
  });
});
