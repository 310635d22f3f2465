import { consumerBackoff, loadConfig } from '../../platform/config.js';
import { PgDeadLetters } from '../../platform/deadLetters.js';
import { poolFromConfig } from '../../platform/db.js';
import { createKafka } from '../../platform/kafka.js';
import { runService } from '../../platform/service.js';
import { anchorJob } from './anchorJob.js';
import { runFunnelConsumer } from './funnelConsumer.js';

/**
 * The analytics process, in the background (after the confirmation path): the order funnel from Kafka
 * (a consumer group of its own) and the daily anchors of the event log.
 */
await runService('analytics', async ({ logger, onStop }) => {
  const config = loadConfig();
  const pool = poolFromConfig({ ...config, dbPoolSize: Math.min(config.dbPoolSize, 2) }, 'analytics');
  const funnel = await runFunnelConsumer({
    pool,
    kafka: createKafka(config.kafkaBrokers, 'oms-funnel'),
    topic: config.orderEventsTopic,
    groupId: config.funnelConsumerGroup,
    logger,
    maxAttempts: config.kafkaConsumerMaxAttempts,
    backoff: consumerBackoff(config),
    deadLetters: new PgDeadLetters(pool, logger),
  });
  const anchors = config.auditAnchorEveryMs > 0 ? anchorJob(pool, logger, config.auditAnchorEveryMs) : undefined;
  anchors?.start();
  anchors?.wake();
  logger.info({ group: config.funnelConsumerGroup }, 'analytics running');
  onStop(async () => {
    await anchors?.stop();
    await funnel.stop();
    await pool.end();
  });
});
