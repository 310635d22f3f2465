import { consumerBackoff, type Config } from '../../platform/config.js';
import { PgDeadLetters } from '../../platform/deadLetters.js';
import { poolFromConfig } from '../../platform/db.js';
import { createKafka } from '../../platform/kafka.js';
import { sandboxPool, startService, type ServiceDeps, type Started } from '../../platform/wiring.js';
import { parseShortPicks } from './shortPick.js';
import { ensureWmsSchema } from './store.js';
import { WmsSimulator } from './wms.js';

/** The WMS sandbox: Kafka in (order events), Kafka out (WMS_EVENTS topic), its own schema (WMS_DATABASE_SCHEMA). */
export function start(config: Config, deps: ServiceDeps): Promise<Started<{ readonly wms: WmsSimulator }>> {
  const { logger } = deps;
  return startService(async (shutdown) => {
    // The sandbox's own role (SANDBOX_DATABASE_URL) owns its schema; the OMS's role cannot touch it.
    // One consumer handler at a time per partition batch and one tick: two connections suffice.
    const pool = shutdown.pool(deps.pool, () => sandboxPool(config, config.wmsDatabaseSchema, 2, 'wms-sandbox'));
    await ensureWmsSchema(pool, config.wmsDatabaseSchema);
    // Its dead letters go to the OMS's table, next to every other consumer's (one connection, rarely used),
    // as the sandbox role, which may write that table and no other of the OMS schema.
    const omsPool = shutdown.pool(undefined, () =>
      poolFromConfig({ ...config, databaseUrl: config.sandboxDatabaseUrl, dbPoolSize: 1 }, 'wms-sandbox-dead-letters'),
    );
    const wms = await shutdown.start(
      new WmsSimulator({
        pool,
        kafka: deps.kafka ?? createKafka(config.kafkaBrokers, 'wms-sandbox'),
        requestsTopic: config.orderEventsTopic,
        answersTopic: config.wmsEventsTopic,
        groupId: config.wmsConsumerGroup,
        stepMs: config.wmsSimStepMs,
        shortPicks: parseShortPicks(config.wmsShortPick),
        logger,
        maxAttempts: config.kafkaConsumerMaxAttempts,
        backoff: consumerBackoff(config),
        deadLetters: new PgDeadLetters(omsPool, logger),
      }),
    );
    logger.info({ step_ms: config.wmsSimStepMs, topic: config.wmsEventsTopic }, 'WMS sandbox running');
    return { wms };
  });
}
