import { loadConfig } from '../../platform/config.js';
import { poolFromConfig } from '../../platform/db.js';
import { createKafka } from '../../platform/kafka.js';
import { PspClient } from '../../platform/psp.js';
import { runService } from '../../platform/service.js';
import { FulfillmentWorker, fulfillmentSettings } from './fulfillmentWorker.js';

/** The fulfillment worker process: WMS answers in, shipments, captures and invoices out. */
await runService('fulfillment', async ({ logger, onStop }) => {
  const config = loadConfig();
  const pool = poolFromConfig(config, 'fulfillment');
  const psp = new PspClient({ baseUrl: config.pspUrl, timeoutMs: config.pspTimeoutMs });
  const worker = new FulfillmentWorker({
    pool,
    kafka: createKafka(config.kafkaBrokers, 'fulfillment'),
    psp,
    logger,
    ...fulfillmentSettings(config),
  });
  await worker.start();
  logger.info({ topic: config.wmsEventsTopic, group: config.fulfillmentConsumerGroup }, 'fulfillment worker running');
  onStop(async () => {
    await worker.stop();
    psp.shutdown();
    await pool.end();
  });
});
