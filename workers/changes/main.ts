import { loadConfig } from '../../platform/config.js';
import { poolFromConfig } from '../../platform/db.js';
import { PspClient } from '../../platform/psp.js';
import { createRedis } from '../../platform/redis.js';
import { runService } from '../../platform/service.js';
import { ChangesWorker, changesWorkerSettings } from './changesWorker.js';

/** The changes worker process: cancellations and refunds. */
await runService('changes', async ({ logger, onStop }) => {
  const config = loadConfig();
  const pool = poolFromConfig(config, 'changes');
  const reader = createRedis(config.redisUrl, 'changes-reader');
  const commands = createRedis(config.redisUrl, 'changes');
  const psp = new PspClient({ baseUrl: config.pspUrl, timeoutMs: config.pspTimeoutMs });
  const worker = new ChangesWorker({ pool, reader, commands, psp, logger, ...changesWorkerSettings(config) });
  await worker.start();
  logger.info({ consumer: worker.consumer.consumer }, 'changes worker running');
  onStop(async () => {
    await worker.stop();
    psp.shutdown();
    reader.disconnect();
    await Promise.allSettled([commands.quit(), pool.end()]);
  });
});
