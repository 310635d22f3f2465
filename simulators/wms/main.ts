import { loadConfig } from '../../platform/config.js';
import { createPool } from '../../platform/db.js';
import { createKafka } from '../../platform/kafka.js';
import { runService } from '../../platform/service.js';
import { parseShortPicks } from './shortPick.js';
import { ensureWmsSchema } from './store.js';
import { WmsSimulator } from './wms.js';

/** The WMS sandbox process: Kafka in (order events), Kafka out (WMS_EVENTS topic), its own schema. */
await runService('wms-sandbox', async ({ logger, onStop }) => {
  const config = loadConfig();
  const pool = createPool({
    databaseUrl: config.databaseUrl,
    schema: config.wmsDatabaseSchema,
    // One consumer handler at a time per partition batch and one tick: two connections suffice.
    max: 2,
    applicationName: 'wms-sandbox',
  });
  await ensureWmsSchema(pool, config.wmsDatabaseSchema);
  const wms = new WmsSimulator({
    pool,
    kafka: createKafka(config.kafkaBrokers, 'wms-sandbox'),
    requestsTopic: config.orderEventsTopic,
    answersTopic: config.wmsEventsTopic,
    groupId: config.wmsConsumerGroup,
    stepMs: config.wmsSimStepMs,
    shortPicks: parseShortPicks(config.wmsShortPick),
    logger,
  });
  await wms.start();
  logger.info({ step_ms: config.wmsSimStepMs, topic: config.wmsEventsTopic }, 'WMS sandbox running');
  onStop(async () => {
    await wms.stop();
    await pool.end();
  });
});
