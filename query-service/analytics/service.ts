import { consumerBackoff, type Config } from '../../platform/config.js';
import { PgDeadLetters } from '../../platform/deadLetters.js';
import { poolFromConfig } from '../../platform/db.js';
import { createKafka } from '../../platform/kafka.js';
import { startService, type ServiceDeps, type Started } from '../../platform/wiring.js';
import { anchorJob } from './anchorJob.js';
import { runFunnelConsumer } from './funnelConsumer.js';

/**
 * Analytics, in the background (after the confirmation path): the order funnel from Kafka (a consumer
 * group of its own) and the daily anchors of the event log.
 */
export function start(config: Config, deps: ServiceDeps): Promise<Started<object>> {
  const { logger } = deps;
  return startService(async (shutdown) => {
    const pool = shutdown.pool(deps.pool, () =>
      poolFromConfig({ ...config, dbPoolSize: Math.min(config.dbPoolSize, 2) }, 'analytics'),
    );
    const funnel = await runFunnelConsumer({
      pool,
      kafka: deps.kafka ?? createKafka(config.kafkaBrokers, 'oms-funnel'),
      topic: config.orderEventsTopic,
      groupId: config.funnelConsumerGroup,
      logger,
      maxAttempts: config.kafkaConsumerMaxAttempts,
      backoff: consumerBackoff(config),
      deadLetters: new PgDeadLetters(pool, logger),
    });
    shutdown.add(() => funnel.stop());
    if (config.auditAnchorEveryMs > 0) {
      const anchors = anchorJob(pool, logger, config.auditAnchorEveryMs);
      await shutdown.start(anchors);
      anchors.wake();
    }
    logger.info({ group: config.funnelConsumerGroup }, 'analytics running');
    return {};
  });
}
