import { loadConfig } from '../../platform/config.js';
import { PgDeadLetters } from '../../platform/deadLetters.js';
import { poolFromConfig } from '../../platform/db.js';
import { createKafka } from '../../platform/kafka.js';
import { runService } from '../../platform/service.js';
import { WebhookWorker, webhookWorkerSettings } from './webhookWorker.js';

/** The webhook worker process: order events from Kafka in, signed webhooks out. */
await runService('webhook-worker', async ({ logger, onStop }) => {
  const config = loadConfig();
  const pool = poolFromConfig({ ...config, dbPoolSize: Math.min(config.dbPoolSize, 4) }, 'webhook-worker');
  const worker = new WebhookWorker({
    pool,
    kafka: createKafka(config.kafkaBrokers, 'oms-webhook-worker'),
    logger,
    deadLetters: new PgDeadLetters(pool, logger),
    ...webhookWorkerSettings(config),
  });
  await worker.start();
  logger.info({ group: config.webhookConsumerGroup }, 'webhook worker running');
  onStop(async () => {
    await worker.stop();
    await pool.end();
  });
});
