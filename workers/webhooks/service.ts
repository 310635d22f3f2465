import type { Config } from '../../platform/config.js';
import { PgDeadLetters } from '../../platform/deadLetters.js';
import { poolFromConfig } from '../../platform/db.js';
import { createKafka } from '../../platform/kafka.js';
import { startService, type ServiceDeps, type Started } from '../../platform/wiring.js';
import { WebhookWorker, webhookWorkerSettings } from './webhookWorker.js';

/** The webhook worker: order events from Kafka in, signed webhooks out. */
export function start(config: Config, deps: ServiceDeps): Promise<Started<{ readonly worker: WebhookWorker }>> {
  const { logger } = deps;
  return startService(async (shutdown) => {
    const pool = shutdown.pool(deps.pool, () =>
      poolFromConfig({ ...config, dbPoolSize: Math.min(config.dbPoolSize, 4) }, 'webhook-worker'),
    );
    const kafka = deps.kafka ?? createKafka(config.kafkaBrokers, 'oms-webhook-worker');
    const deadLetters = new PgDeadLetters(pool, logger);
    const worker = await shutdown.start(
      new WebhookWorker({ pool, kafka, logger, deadLetters, ...webhookWorkerSettings(config) }),
    );
    logger.info({ group: config.webhookConsumerGroup }, 'webhook worker running');
    return { worker };
  });
}
