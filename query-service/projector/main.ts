import { consumerBackoff, loadConfig } from '../../platform/config.js';
import { PgDeadLetters } from '../../platform/deadLetters.js';
import { createKafka } from '../../platform/kafka.js';
import { poolFromConfig } from '../../platform/db.js';
import { createRedis } from '../../platform/redis.js';
import { runService } from '../../platform/service.js';
import { anchorJob } from './anchorJob.js';
import { runFunnelConsumer } from './funnelConsumer.js';
import { Projector, projectorSettings } from './projector.js';

/**
 * The projector process: order events from Redis Streams into the order view, and from Kafka (a
 * consumer group of its own) into the order funnel.
 */
await runService('projector', async ({ logger, onStop }) => {
  const config = loadConfig();
  const pool = poolFromConfig(config, 'projector');
  const reader = createRedis(config.redisUrl, 'projector-reader');
  const commands = createRedis(config.redisUrl, 'projector');
  const projector = new Projector({ pool, reader, commands, logger, ...projectorSettings(config) });
  await projector.start();
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
  logger.info('projector running');
  onStop(async () => {
    await anchors?.stop();
    await funnel.stop();
    await projector.stop();
    reader.disconnect();
    await Promise.allSettled([commands.quit(), pool.end()]);
  });
});
