import { loadConfig } from '../../platform/config.js';
import { poolFromConfig } from '../../platform/db.js';
import { createRedis } from '../../platform/redis.js';
import { runService } from '../../platform/service.js';
import { Projector, projectorSettings } from './projector.js';

/** The projector process: order events from Redis Streams into the query service's read tables. */
await runService('projector', async ({ logger, onStop }) => {
  const config = loadConfig();
  const pool = poolFromConfig(config, 'projector');
  const reader = createRedis(config.redisUrl, 'projector-reader');
  const commands = createRedis(config.redisUrl, 'projector');
  const projector = new Projector({ pool, reader, commands, logger, ...projectorSettings(config) });
  await projector.start();
  logger.info('projector running');
  onStop(async () => {
    await projector.stop();
    reader.disconnect();
    await Promise.allSettled([commands.quit(), pool.end()]);
  });
});
