import type { Config } from '../platform/config.js';
import { poolFromConfig } from '../platform/db.js';
import { createKafka } from '../platform/kafka.js';
import { PressureGauge, pressureKey } from '../platform/pressure.js';
import { createRedis } from '../platform/redis.js';
import { startService, type ServiceDeps, type Started } from '../platform/wiring.js';
import { SUBSCRIBERS, SUBSCRIPTIONS, type SubscriberName } from '../domain/subscriptions.js';
import { KafkaSink } from './kafkaSink.js';
import { RedisSink } from './redisSink.js';
import { Relay } from './relay.js';

export interface RelayServiceDeps extends ServiceDeps {
  /**
   * The consumer groups given streams (default: every one). A group nobody runs would hold every entry
   * (and outbox row) forever, so a system running only some workers names them.
   */
  readonly groups?: readonly SubscriberName[];
}

/** The relay: outbox → Kafka `order-events` and Redis Streams. */
export function start(config: Config, deps: RelayServiceDeps): Promise<Started<{ readonly relay: Relay }>> {
  const { logger } = deps;
  return startService(async (shutdown) => {
    const pool = shutdown.pool(deps.pool, () => poolFromConfig(config, 'relay'));
    const redis = shutdown.own(
      deps.redis,
      () => createRedis(config.redisUrl, 'relay'),
      (r) => r.quit(),
    );
    const kafka = deps.kafka ?? createKafka(config.kafkaBrokers, 'oms-relay');
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    shutdown.add(() => producer.disconnect());
    const layout = { prefix: config.redisPrefix, partitions: config.redisStreamPartitions };
    const groups = deps.groups ?? SUBSCRIBERS;
    const relay = new Relay({
      pool,
      databaseUrl: config.listenDatabaseUrl,
      schema: config.databaseSchema,
      logger,
      kafka: new KafkaSink(producer, config.orderEventsTopic),
      redis: new RedisSink(redis, layout, Object.fromEntries(groups.map((group) => [group, SUBSCRIPTIONS[group]]))),
      batchSize: config.relayBatchSize,
      pollMs: config.relayPollMs,
      ackScanMs: config.relayAckScanMs,
      minBatchIntervalMs: config.relayMinBatchIntervalMs,
      checkpointMs: config.relayCheckpointMs,
      // Under back pressure the relay reads twice as often as the workers: it feeds all of them.
      pressure: new PressureGauge(redis, pressureKey(config.redisPrefix), Math.floor(config.pressureReadIntervalMs / 2)),
      outboxRetentionMs: config.outboxRetentionMs,
    });
    await shutdown.start(relay);
    logger.info({ topic: config.orderEventsTopic, redis_prefix: config.redisPrefix }, 'relay running');
    const report = setInterval(() => logger.info({ published: relay.stats() }, 'relay progress'), 60_000);
    report.unref();
    shutdown.add(() => clearInterval(report));
    return { relay };
  });
}
