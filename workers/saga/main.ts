import { loadConfig } from '../../platform/config.js';
import { poolFromConfig } from '../../platform/db.js';
import { PspClient } from '../../platform/psp.js';
import { createRedis } from '../../platform/redis.js';
import { runService } from '../../platform/service.js';
import { SagaWorker, sagaWorkerSettings } from './sagaWorker.js';

/** The saga worker process. */
await runService('saga-worker', async ({ logger, onStop }) => {
  const config = loadConfig();
  const pool = poolFromConfig(config, 'saga-worker');
  const reader = createRedis(config.redisUrl, 'saga-worker-reader');
  const commands = createRedis(config.redisUrl, 'saga-worker');
  const psp = new PspClient({ baseUrl: config.pspUrl, timeoutMs: config.pspTimeoutMs });
  psp.breaker.on('open', () => logger.warn('PSP circuit breaker opened: sagas wait and retry'));
  psp.breaker.on('halfOpen', () => logger.info('PSP circuit breaker half-open: trying the PSP again'));
  psp.breaker.on('close', () => logger.info('PSP circuit breaker closed'));

  const worker = new SagaWorker({ pool, reader, commands, psp, logger, ...sagaWorkerSettings(config) });
  await worker.start();
  logger.info({ consumer: worker.consumer.consumer }, 'saga worker running');
  onStop(async () => {
    await worker.stop();
    psp.shutdown();
    reader.disconnect();
    await Promise.allSettled([commands.quit(), pool.end()]);
  });
});
