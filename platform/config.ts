import type { Backoff } from '../domain/retryPolicy.js';

/**
 * Configuration: environment variables with working defaults. Every setting the system reads is listed
 * here (and in the README's configuration table), so nothing else touches process.env.
 */
export interface Config {
  /** What every OMS service connects with: the service role, which cannot change the event log (decision 0015). */
  readonly databaseUrl: string;
  /** What migrations and setup connect with: the owner of the schema (creates the roles and grants to them). */
  readonly migrationDatabaseUrl: string;
  /** What the partner sandboxes (PSP, WMS) connect with: a role of their own, owning their own schemas. */
  readonly sandboxDatabaseUrl: string;
  /**
   * Where the relay LISTENs for outbox commits: DATABASE_URL unless set. Behind a pooler in transaction
   * mode (PgBouncer) it must reach PostgreSQL directly: a LISTEN lasts a session, which such a pooler lends
   * out per transaction, so the notifications would go to whichever client holds that connection, or nowhere.
   */
  readonly listenDatabaseUrl: string;
  /** PostgreSQL schema the services use (search_path); tests run in schemas of their own. */
  readonly databaseSchema: string;
  readonly dbPoolSize: number;
  /** Named prepared statements (a pooler in transaction mode needs to support them, e.g. PgBouncer ≥ 1.21). */
  readonly dbPreparedStatements: boolean;
  readonly redisUrl: string;
  readonly kafkaBrokers: readonly string[];
  readonly kafkaTopicPartitions: number;
  readonly host: string;
  /** The API's one entry (api/main.ts): the command and query apps in one process. */
  readonly port: number;
  readonly commandPort: number;
  readonly queryPort: number;
  readonly logLevel: string;
  readonly idempotencyTtlHours: number;
  /** An in-flight Idempotency-Key whose request never finished (a crashed process) may be retried after this. */
  readonly idempotencyLockTimeoutMs: number;
  /** How long a process remembers an API key lookup: a revoked key is refused everywhere within this. */
  readonly apiKeyCacheMs: number;
  /** A known admin key `npm start` makes sure exists (deployments); the demo keys are random otherwise. */
  readonly bootstrapAdminKey: string | undefined;
  /** Where `npm start` writes the demo keys it creates (git-ignored); empty: `.oms-demo-keys.json` in the repository. */
  readonly demoKeysFile: string;
  /** The token bucket of a key created without a rate_limit: refilled per second, and its size. */
  readonly rateLimitPerSecond: number;
  readonly rateLimitBurst: number;
  /** Niceness of the placement pipeline behind the API (relay, saga worker, projector) under `npm start`. */
  readonly pipelineNice: number;
  /** Niceness of everything after confirmation (router, fulfillment, tracking, changes, WMS and carrier sandboxes) under `npm start`. */
  readonly backgroundNice: number;
  /** Processes of the API front (api/main.ts) sharing PORT. */
  readonly apiWorkers: number;
  /** Group commit: placements written by one flush at most. */
  readonly placementBatchMax: number;
  /** Group commit: how long a flush may wait for more placements (0: it starts as soon as none runs). */
  readonly placementBatchWaitMs: number;
  /** Group commit: flushes running at once per process. */
  readonly placementFlushes: number;
  /**
   * Placements waiting when a flush starts from which the API raises back pressure (0: never): the
   * workers behind it then read every pressureReadIntervalMs, for pressureHoldMs after the last time.
   */
  readonly pressureQueueDepth: number;
  readonly pressureHoldMs: number;
  readonly pressureReadIntervalMs: number;
  readonly orderPartitionsAheadMonths: number;
  /**
   * Retention, in one place. Calendar months of orders (with their items, shipments, payments, … and their
   * events) kept in the database, this month included (24: this month and the 23 before it); `npm run
   * archive` without --before archives the months before them and refuses those.
   */
  readonly orderHotMonths: number;
  /** How long the event history must be kept in all (in the database, then in its archive): each archive's manifest says until when. */
  readonly eventRetentionYears: number;
  /** Where `npm run archive` writes each month's files and manifest (git-ignored by default). */
  readonly archiveDir: string;
  readonly seedDemoCatalog: boolean;
  /** Kafka topic the relay publishes order events to. */
  readonly orderEventsTopic: string;
  /** Prefix of every Redis key this system writes (streams, dead letters, relay epoch). */
  readonly redisPrefix: string;
  /** Redis streams the events are spread over, by a hash of the order id. */
  readonly redisStreamPartitions: number;
  readonly relayBatchSize: number;
  /** Longest sleep of an idle relay (the outbox trigger's NOTIFY wakes it sooner; this covers a lost LISTEN). */
  readonly relayPollMs: number;
  /** Outbox reads of a busy relay are at least this far apart, so small commits are published in batches. */
  readonly relayMinBatchIntervalMs: number;
  /** A busy relay writes its sinks' checkpoints (one statement) at most this often. */
  readonly relayCheckpointMs: number;
  /** How often the relay measures what consumer groups acknowledged, trims streams, checks Redis. */
  readonly relayAckScanMs: number;
  /** Outbox rows every sink has delivered (and every consumer group acknowledged) are deleted after this. */
  readonly outboxRetentionMs: number;
  /** A pending stream entry idle this long is claimed again (its consumer died or its handler failed). */
  readonly consumerClaimIdleMs: number;
  /** Reads of a busy stream consumer are at least this far apart, so entries are handled in batches. */
  readonly consumerMinReadIntervalMs: number;
  /** Failed deliveries (transient infrastructure failures not counted) after which an entry is dead-lettered. */
  readonly consumerMaxDeliveries: number;
  /** A failed message is retried after a backoff: the ceiling starts here, doubles per attempt (full jitter)… */
  readonly consumerRetryBaseMs: number;
  /** …up to this. */
  readonly consumerRetryMaxMs: number;
  /** Counted attempts after which a Kafka consumer dead-letters a record and moves on (transient failures not counted). */
  readonly kafkaConsumerMaxAttempts: number;
  /** Mean time between two passes of each sweep (jittered by a third either way). */
  readonly sweepIntervalMs: number;
  /** A sweep leaves alone what changed more recently than this (its message may still be on its way). */
  readonly sweepGraceMs: number;
  /** How far back a sweep looks (by creation time of the order or authorization). */
  readonly sweepLookbackMs: number;
  /** Rows a sweep examines per pass, and repairs per pass at most. */
  readonly sweepScanLimit: number;
  readonly sweepRepairLimit: number;
  /** statement_timeout of a sweep's finding statements. */
  readonly sweepStatementTimeoutMs: number;
  readonly pspUrl: string;
  readonly pspPort: number;
  readonly pspDatabaseSchema: string;
  /** One PSP call's timeout; beyond it the call counts as failed for the circuit breaker. */
  readonly pspTimeoutMs: number;
  /** How long a saga keeps retrying a PSP that does not answer before it gives up (and compensates). */
  readonly pspRetryDeadlineMs: number;
  /** A saga with no progress for this long is reported as stuck and re-driven. */
  readonly sagaStuckAfterMs: number;
  readonly sagaPollMs: number;
  /** A running saga untouched this long is picked up again by the due-saga poller (its worker died). */
  readonly sagaLeaseMs: number;
  /** Simulated processing time of each PSP sandbox call. */
  readonly pspLatencyMs: number;
  /** The router's inventory snapshot is taken again after this long (sooner when the catalog changes). */
  readonly routerSnapshotMs: number;
  /** Kafka topic the WMS answers on (picked, packed, shipped, short picks). */
  readonly wmsEventsTopic: string;
  /** Kafka consumer group of the WMS simulator on the order events topic. */
  readonly wmsConsumerGroup: string;
  readonly wmsDatabaseSchema: string;
  /** Time the WMS simulator spends on each of pick, pack and ship. */
  readonly wmsSimStepMs: number;
  /** Deterministic short picks for tests and demos: `SKU=missing` or `WAREHOUSE:SKU=missing`, comma-separated. */
  readonly wmsShortPick: string;
  /** How often the analytics process looks for a finished day of events to anchor (0: never). */
  readonly auditAnchorEveryMs: number;
  /** Kafka consumer group of the order funnel (in the analytics process) on the order events topic. */
  readonly funnelConsumerGroup: string;
  /** Kafka consumer group of the webhook worker on the order events topic. */
  readonly webhookConsumerGroup: string;
  /** Outbound webhook deliveries in flight at once (all subscriptions), and per subscription. */
  readonly webhookConcurrency: number;
  readonly webhookConcurrencyPerSubscription: number;
  /** A receiver that has not answered after this long has failed the attempt. */
  readonly webhookTimeoutMs: number;
  /** A failed delivery is tried again after an exponential backoff with full jitter from base to max. */
  readonly webhookRetryBaseMs: number;
  readonly webhookRetryMaxMs: number;
  /** A subscription failing this long without a success is disabled (contract: 24 h). */
  readonly webhookDisableAfterMs: number;
  /** A delivery taken by a worker that died is taken again this long after it was taken. */
  readonly webhookLeaseMs: number;
  /** Kafka consumer group of the fulfillment worker on the WMS topic. */
  readonly fulfillmentConsumerGroup: string;
  readonly carrierUrl: string;
  readonly carrierPort: number;
  /** Time the carrier simulator takes for each leg: label → in transit → delivered. */
  readonly carrierSimStepMs: number;
  /** The tracker's first poll after shipping, doubled while nothing changes, up to trackingMaxPollMs. */
  readonly trackingPollMs: number;
  readonly trackingMaxPollMs: number;
  readonly carrierTimeoutMs: number;
  /** Who issues the invoices. */
  readonly sellerName: string;
  readonly sellerAddress: string;
  readonly sellerTaxId: string;
  /** Port of a process's own /metrics (and /health/live) server; 0: none (the API serves /metrics on PORT anyway). */
  readonly metricsPort: number;
  /** How often each service process writes its heartbeat to Redis. */
  readonly heartbeatIntervalMs: number;
  /** A worker whose last heartbeat is older than this counts as gone (readiness answers 503). */
  readonly heartbeatMaxAgeMs: number;
  /** The worker kinds (their service names) the API's readiness requires a fresh heartbeat of; empty: none. */
  readonly readyWorkers: readonly string[];
  /** `npm start`: the first of the METRICS_PORTs it gives its services, one each in order; 0: none. */
  readonly metricsBasePort: number;
  /** `npm start`'s console: `pretty`, `json`, or `auto` (pretty on a terminal, JSON otherwise). */
  readonly logFormat: 'auto' | 'pretty' | 'json';
}

/** The workers an order needs on its way from placed to delivered (the sandboxes are partners, not ours). */
export const DEFAULT_READY_WORKERS = 'relay,saga-worker,projector,router,fulfillment,tracking,changes,webhook-worker,analytics';

type Env = Readonly<Record<string, string | undefined>>;

/** The consumers' retry backoff (Redis Streams and Kafka alike). */
export function consumerBackoff(config: Pick<Config, 'consumerRetryBaseMs' | 'consumerRetryMaxMs'>): Backoff {
  return { baseMs: config.consumerRetryBaseMs, maxMs: config.consumerRetryMaxMs };
}

function intFrom(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`configuration: ${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return value;
}

function boolFrom(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new Error(`configuration: ${name} must be true or false, got "${raw}"`);
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(values as readonly string[]).includes(raw))
    throw new Error(`configuration: ${name} must be one of ${values.join(', ')}, got "${raw}"`);
  return raw as T;
}

export function loadConfig(env: Env = process.env): Config {
  const schema = env.DATABASE_SCHEMA ?? 'public';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`configuration: DATABASE_SCHEMA must be a plain lower-case identifier, got "${schema}"`);
  }
  const pspPort = intFrom(env, 'PSP_PORT', 8091, 0);
  const carrierPort = intFrom(env, 'CARRIER_PORT', 8092, 0);
  return Object.freeze({
    // Least privilege by default (decision 0015). A deployment that sets only DATABASE_URL keeps working
    // as it did: migrations and sandboxes then connect with it too.
    databaseUrl: env.DATABASE_URL ?? 'postgres://oms_service@127.0.0.1:5432/oms',
    migrationDatabaseUrl: env.MIGRATION_DATABASE_URL ?? env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/oms',
    // The sandboxes are development stand-ins: with URLs of a deployment's own and none for them, they
    // run as the owner (still in schemas the service role cannot reach).
    sandboxDatabaseUrl:
      env.SANDBOX_DATABASE_URL ?? env.MIGRATION_DATABASE_URL ?? env.DATABASE_URL ?? 'postgres://oms_sandbox@127.0.0.1:5432/oms',
    listenDatabaseUrl: env.LISTEN_DATABASE_URL ?? env.DATABASE_URL ?? 'postgres://oms_service@127.0.0.1:5432/oms',
    databaseSchema: schema,
    dbPoolSize: intFrom(env, 'DB_POOL_SIZE', 10, 1),
    dbPreparedStatements: boolFrom(env, 'DB_PREPARED_STATEMENTS', true),
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    kafkaBrokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092')
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b.length > 0),
    kafkaTopicPartitions: intFrom(env, 'KAFKA_TOPIC_PARTITIONS', 64, 1),
    host: env.HOST ?? '127.0.0.1',
    port: intFrom(env, 'PORT', 8080, 0),
    commandPort: intFrom(env, 'COMMAND_PORT', 8081, 0),
    queryPort: intFrom(env, 'QUERY_PORT', 8082, 0),
    logLevel: env.LOG_LEVEL ?? 'info',
    idempotencyTtlHours: intFrom(env, 'IDEMPOTENCY_TTL_HOURS', 24, 24),
    idempotencyLockTimeoutMs: intFrom(env, 'IDEMPOTENCY_LOCK_TIMEOUT_MS', 60_000, 1),
    apiKeyCacheMs: intFrom(env, 'API_KEY_CACHE_MS', 5_000, 0),
    bootstrapAdminKey: env.OMS_BOOTSTRAP_ADMIN_KEY === '' ? undefined : env.OMS_BOOTSTRAP_ADMIN_KEY,
    demoKeysFile: env.OMS_DEMO_KEYS_FILE ?? '',
    rateLimitPerSecond: intFrom(env, 'RATE_LIMIT_PER_SECOND', 100, 1),
    rateLimitBurst: intFrom(env, 'RATE_LIMIT_BURST', 200, 1),
    apiWorkers: intFrom(env, 'API_WORKERS', 1, 1),
    pipelineNice: intFrom(env, 'OMS_PIPELINE_NICE', 0, 0),
    backgroundNice: intFrom(env, 'OMS_BACKGROUND_NICE', 15, 0),
    placementBatchMax: intFrom(env, 'PLACEMENT_BATCH_MAX', 200, 1),
    placementBatchWaitMs: intFrom(env, 'PLACEMENT_BATCH_WAIT_MS', 0, 0),
    placementFlushes: intFrom(env, 'PLACEMENT_FLUSHES', 2, 1),
    pressureQueueDepth: intFrom(env, 'PRESSURE_QUEUE_DEPTH', 16, 0),
    pressureHoldMs: intFrom(env, 'PRESSURE_HOLD_MS', 500, 10),
    pressureReadIntervalMs: intFrom(env, 'PRESSURE_READ_INTERVAL_MS', 2_500, 0),
    orderPartitionsAheadMonths: intFrom(env, 'ORDER_PARTITIONS_AHEAD_MONTHS', 3, 1),
    orderHotMonths: intFrom(env, 'ORDER_HOT_MONTHS', 24, 1),
    eventRetentionYears: intFrom(env, 'EVENT_RETENTION_YEARS', 7, 1),
    archiveDir: env.ARCHIVE_DIR === undefined || env.ARCHIVE_DIR === '' ? 'archive' : env.ARCHIVE_DIR,
    seedDemoCatalog: boolFrom(env, 'SEED_DEMO_CATALOG', true),
    orderEventsTopic: env.KAFKA_ORDER_EVENTS_TOPIC ?? 'order-events',
    redisPrefix: env.REDIS_PREFIX ?? 'oms',
    redisStreamPartitions: intFrom(env, 'REDIS_STREAM_PARTITIONS', 8, 1),
    relayBatchSize: intFrom(env, 'RELAY_BATCH_SIZE', 500, 1),
    relayPollMs: intFrom(env, 'RELAY_POLL_MS', 1_000, 1),
    relayMinBatchIntervalMs: intFrom(env, 'RELAY_MIN_BATCH_INTERVAL_MS', 10, 0),
    relayCheckpointMs: intFrom(env, 'RELAY_CHECKPOINT_MS', 200, 0),
    relayAckScanMs: intFrom(env, 'RELAY_ACK_SCAN_MS', 1_000, 10),
    outboxRetentionMs: intFrom(env, 'OUTBOX_RETENTION_MS', 3_600_000, 0),
    consumerClaimIdleMs: intFrom(env, 'CONSUMER_CLAIM_IDLE_MS', 5_000, 10),
    consumerMinReadIntervalMs: intFrom(env, 'CONSUMER_MIN_READ_INTERVAL_MS', 20, 0),
    consumerMaxDeliveries: intFrom(env, 'CONSUMER_MAX_DELIVERIES', 5, 1),
    consumerRetryBaseMs: intFrom(env, 'CONSUMER_RETRY_BASE_MS', 1_000, 1),
    consumerRetryMaxMs: intFrom(env, 'CONSUMER_RETRY_MAX_MS', 30_000, 1),
    kafkaConsumerMaxAttempts: intFrom(env, 'KAFKA_CONSUMER_MAX_ATTEMPTS', 5, 1),
    sweepIntervalMs: intFrom(env, 'SWEEP_INTERVAL_MS', 45_000, 10),
    sweepGraceMs: intFrom(env, 'SWEEP_GRACE_MS', 60_000, 0),
    sweepLookbackMs: intFrom(env, 'SWEEP_LOOKBACK_MS', 24 * 3_600_000, 1),
    sweepScanLimit: intFrom(env, 'SWEEP_SCAN_LIMIT', 10_000, 1),
    sweepRepairLimit: intFrom(env, 'SWEEP_REPAIR_LIMIT', 100, 1),
    sweepStatementTimeoutMs: intFrom(env, 'SWEEP_STATEMENT_TIMEOUT_MS', 5_000, 1),
    pspUrl: env.PSP_URL ?? `http://127.0.0.1:${pspPort}`,
    pspPort,
    pspDatabaseSchema: env.PSP_DATABASE_SCHEMA ?? 'psp',
    pspTimeoutMs: intFrom(env, 'PSP_TIMEOUT_MS', 2_000, 1),
    pspRetryDeadlineMs: intFrom(env, 'PSP_RETRY_DEADLINE_MS', 30_000, 0),
    sagaStuckAfterMs: intFrom(env, 'SAGA_STUCK_AFTER_MS', 5 * 60_000, 1),
    sagaPollMs: intFrom(env, 'SAGA_POLL_MS', 1_000, 1),
    sagaLeaseMs: intFrom(env, 'SAGA_LEASE_MS', 30_000, 1),
    pspLatencyMs: intFrom(env, 'PSP_LATENCY_MS', 5, 0),
    routerSnapshotMs: intFrom(env, 'ROUTER_SNAPSHOT_MS', 30_000, 0),
    wmsEventsTopic: env.KAFKA_WMS_EVENTS_TOPIC ?? 'wms-events',
    wmsConsumerGroup: env.WMS_CONSUMER_GROUP ?? 'oms-wms-sim',
    wmsDatabaseSchema: env.WMS_DATABASE_SCHEMA ?? 'wms',
    wmsSimStepMs: intFrom(env, 'WMS_SIM_STEP_MS', 3_000, 0),
    wmsShortPick: env.WMS_SHORT_PICK ?? '',
    fulfillmentConsumerGroup: env.FULFILLMENT_CONSUMER_GROUP ?? 'oms-fulfillment',
    webhookConsumerGroup: env.WEBHOOK_CONSUMER_GROUP ?? 'oms-webhooks',
    funnelConsumerGroup: env.FUNNEL_CONSUMER_GROUP ?? 'oms-funnel',
    auditAnchorEveryMs: intFrom(env, 'AUDIT_ANCHOR_EVERY_MS', 3_600_000, 0),
    webhookConcurrency: intFrom(env, 'WEBHOOK_CONCURRENCY', 32, 1),
    webhookConcurrencyPerSubscription: intFrom(env, 'WEBHOOK_CONCURRENCY_PER_SUBSCRIPTION', 8, 1),
    webhookTimeoutMs: intFrom(env, 'WEBHOOK_TIMEOUT_MS', 5_000, 1),
    webhookRetryBaseMs: intFrom(env, 'WEBHOOK_RETRY_BASE_MS', 1_000, 1),
    webhookRetryMaxMs: intFrom(env, 'WEBHOOK_RETRY_MAX_MS', 3_600_000, 1),
    webhookDisableAfterMs: intFrom(env, 'WEBHOOK_DISABLE_AFTER_MS', 24 * 3_600_000, 1),
    webhookLeaseMs: intFrom(env, 'WEBHOOK_LEASE_MS', 30_000, 1),
    carrierUrl: env.CARRIER_URL ?? `http://127.0.0.1:${carrierPort}`,
    carrierPort,
    carrierSimStepMs: intFrom(env, 'CARRIER_SIM_STEP_MS', 5_000, 0),
    trackingPollMs: intFrom(env, 'TRACKING_POLL_MS', 2_000, 1),
    trackingMaxPollMs: intFrom(env, 'TRACKING_MAX_POLL_MS', 16_000, 1),
    carrierTimeoutMs: intFrom(env, 'CARRIER_TIMEOUT_MS', 2_000, 1),
    sellerName: env.SELLER_NAME ?? 'OMS Demo Store Inc.',
    sellerAddress: env.SELLER_ADDRESS ?? '1 Market Street; 94105 San Francisco; US',
    sellerTaxId: env.SELLER_TAX_ID ?? 'US-00-0000000',
    metricsPort: intFrom(env, 'METRICS_PORT', 0, 0),
    heartbeatIntervalMs: intFrom(env, 'HEARTBEAT_INTERVAL_MS', 5_000, 10),
    heartbeatMaxAgeMs: intFrom(env, 'HEARTBEAT_MAX_AGE_MS', 15_000, 10),
    readyWorkers: (env.READY_WORKERS ?? DEFAULT_READY_WORKERS)
      .split(',')
      .map((w) => w.trim())
      .filter((w) => w.length > 0),
    metricsBasePort: intFrom(env, 'METRICS_BASE_PORT', 9101, 0),
    logFormat: oneOf(env, 'LOG_FORMAT', ['auto', 'pretty', 'json'] as const, 'auto'),
  });
}
