import { consumerBackoff, loadConfig } from '../../platform/config.js';
import { PgDeadLetters } from '../../platform/deadLetters.js';
import { createPool, poolFromConfig } from '../../platform/db.js';
import { createKafka } from '../../platform/kafka.js';
import { runService } from '../../platform/service.js';
import { parseShortPicks } from './shortPick.js';
import { ensureWmsSchema } from './store.js';
import { WmsSimulator } from './wms.js';

/** The WMS sandbox process: Kafka in (order events), Kafka out (WMS_EVENTS topic), its own schema. */
await runService('wms-sandbox', async ({ logger, onStop }) => {
  const config = loadConfig();
  // The sandbox's own role (SANDBOX_DATABASE_URL) owns its schema; the OMS's role cannot touch it.
  const pool = createPool({
    databaseUrl: config.sandboxDatabaseUrl,
    schema: config.wmsDatabaseSchema,
    // One consumer handler at a time per partition batch and one tick: two connections suffice.
    max: 2,
    applicationName: 'wms-sandbox',
  });
  await ensureWmsSchema(pool, config.wmsDatabaseSchema);
  // Its dead letters go to the OMS's table, next to every other consumer's (one connection, rarely used),
  // as the sandbox role, which may write that table and no other of the OMS schema.
  const omsPool = poolFromConfig(
    { ...config, databaseUrl: config.sandboxDatabaseUrl, dbPoolSize: 1 },
    'wms-sandbox-dead-letters',
  );
  const wms = new WmsSimulator({
    pool,
    kafka: createKafka(config.kafkaBrokers, 'wms-sandbox'),
    requestsTopic: config.orderEventsTopic,
    answersTopic: config.wmsEventsTopic,
    groupId: config.wmsConsumerGroup,
    stepMs: config.wmsSimStepMs,
    shortPicks: parseShortPicks(config.wmsShortPick),
    logger,
    maxAttempts: config.kafkaConsumerMaxAttempts,
    backoff: consumerBackoff(config),
    deadLetters: new PgDeadLetters(omsPool, logger),
  });
  await wms.start();
  logger.info({ step_ms: config.wmsSimStepMs, topic: config.wmsEventsTopic }, 'WMS sandbox running');
  onStop(async () => {
    await wms.stop();
    await Promise.allSettled([pool.end(), omsPool.end()]);
  });
});
