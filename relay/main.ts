import { loadConfig } from '../platform/config.js';
import { poolFromConfig } from '../platform/db.js';
import { createKafka } from '../platform/kafka.js';
import { PressureGauge, pressureKey } from '../platform/pressure.js';
import { createRedis } from '../platform/redis.js';
import { runService } from '../platform/service.js';
import { SUBSCRIPTIONS } from '../domain/subscriptions.js';
import { KafkaSink } from './kafkaSink.js';
import { RedisSink } from './redisSink.js';
import { Relay } from './relay.js';

/** The relay process: outbox → Kafka `order-events` and Redis Streams. */
await runService('relay', async ({ logger, onStop }) => {
  const config = loadConfig();
  const pool = poolFromConfig(config, 'relay');
  const redis = createRedis(config.redisUrl, 'relay');
  const producer = createKafka(config.kafkaBrokers, 'oms-relay').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();

  const relay = new Relay({
    pool,
    databaseUrl: config.listenDatabaseUrl,
    schema: config.databaseSchema,
    logger,
    kafka: new KafkaSink(producer, config.orderEventsTopic),
    redis: new RedisSink(redis, { prefix: config.redisPrefix, partitions: config.redisStreamPartitions }, SUBSCRIPTIONS),
    batchSize: config.relayBatchSize,
    pollMs: config.relayPollMs,
    ackScanMs: config.relayAckScanMs,
    minBatchIntervalMs: config.relayMinBatchIntervalMs,
    checkpointMs: config.relayCheckpointMs,
    // Under back pressure the relay reads twice as often as the workers: it feeds all of them.
    pressure: new PressureGauge(redis, pressureKey(config.redisPrefix), Math.floor(config.pressureReadIntervalMs / 2)),
    outboxRetentionMs: config.outboxRetentionMs,
  });
  await relay.start();
  logger.info({ topic: config.orderEventsTopic, redis_prefix: config.redisPrefix }, 'relay running');

  const report = setInterval(() => logger.info({ published: relay.stats() }, 'relay progress'), 60_000);
  report.unref();
  onStop(async () => {
    clearInterval(report);
    await relay.stop();
    await Promise.allSettled([producer.disconnect(), redis.quit(), pool.end()]);
  });
});
