import { createCommandHandler } from '../../command-service/app.js';
import { upstreamFor } from '../../api/routes.js';
import { createQueryApp } from '../../query-service/app.js';
import { createQueryHandler } from '../../query-service/server.js';
import { Projector, projectorSettings } from '../../query-service/projector/projector.js';
import { KafkaSink } from '../../relay/kafkaSink.js';
import { RedisSink } from '../../relay/redisSink.js';
import { Relay } from '../../relay/relay.js';
import { createPspApp } from '../../simulators/psp/app.js';
import { ensurePspSchema } from '../../simulators/psp/store.js';
import { SagaWorker, sagaWorkerSettings } from '../../workers/saga/sagaWorker.js';
import { RouterWorker, routerWorkerSettings } from '../../workers/router/routerWorker.js';
import { FulfillmentWorker, fulfillmentSettings } from '../../workers/fulfillment/fulfillmentWorker.js';
import { Tracker, trackerSettings } from '../../workers/tracking/tracker.js';
import { ChangesWorker, changesWorkerSettings } from '../../workers/changes/changesWorker.js';
import { createCarrierApp } from '../../simulators/carrier/app.js';
import { parseShortPicks } from '../../simulators/wms/shortPick.js';
import { ensureWmsSchema } from '../../simulators/wms/store.js';
import { WmsSimulator } from '../../simulators/wms/wms.js';
import { CarrierClient } from '../../platform/carrier.js';
import { consumerBackoff, type Config } from '../../platform/config.js';
import { PgDeadLetters, redriveTargets } from '../../platform/deadLetters.js';
import { createPool, type Pool } from '../../platform/db.js';
import { ApiKeyCache } from '../../platform/authentication.js';
import { createRateLimiter } from '../../platform/rateLimit.js';
import { listen } from '../../platform/http.js';
import { traceRequests } from '../../platform/requestTrace.js';
import { createKafka, ensureTopics } from '../../platform/kafka.js';
import { createLogger, type Logger } from '../../platform/logger.js';
import { migrateLatest, quoteIdent } from '../../platform/migrate.js';
import { PspClient } from '../../platform/psp.js';
import { accessFromConfig } from '../../platform/databaseRoles.js';
import { createRedis, type Redis } from '../../platform/redis.js';
import { parseFields, type StreamLayout } from '../../platform/streams.js';
import { SUBSCRIBERS, SUBSCRIPTIONS, Subscriber } from '../../domain/subscriptions.js';
import { compareStreamIds } from '../../relay/redisSink.js';
import { createTestKey } from './apiKeys.js';
import { createCatalog, orderBody, type TestCatalog } from './catalog.js';
import type { ApiResponse } from './commandApi.js';
import { eventually, testConfig, testDatabaseUrl, testSandboxDatabaseUrl, testServiceDatabaseUrl, uniqueId } from './env.js';
import { startNode, type RunningProcess } from './processes.js';

/**
 * A whole placement pipeline of the test's own: its own PostgreSQL schema (migrated), Redis key
 * prefix, Kafka topic and PSP ledger schema, with the command API, the relay, the PSP sandbox and a
 * saga worker running in this process against the real services. stop() removes all of it.
 * As in production (decision 0015), the schema is migrated by the owner (TEST_DATABASE_URL), the
 * services connect as the service role and the sandboxes as the sandbox role.
 */
export interface TestSystem {
  readonly schema: string;
  /** The services' pool: the service role (it cannot change order_events, nor the schema). */
  readonly pool: Pool;
  /** The owner's pool (MIGRATION_DATABASE_URL), for what only the owner does: the replay tool's rebuilds. */
  readonly ownerPool: Pool;
  readonly config: Config;
  readonly layout: StreamLayout;
  readonly topic: string;
  readonly redis: Redis;
  readonly psp: PspClient;
  /** The PSP sandbox's own ledger (its schema): what the partner itself holds. */
  readonly pspLedger: Pool;
  readonly pspUrl: string;
  /** The query service's own address (the API front routes reads there). */
  readonly queryUrl: string;
  /** The command service's own address. */
  readonly commandUrl: string;
  /** Where the API front (api/routes.ts) sends this request: the command or the query service's address. */
  urlFor(method: string, path: string): string;
  readonly relay: Relay;
  /** The saga workers running in this process (tests may run several of one group). */
  readonly sagaWorkers: SagaWorker[];
  readonly logger: Logger;
  /**
   * With `captureLogs`: every JSON log line of the system's parts (each logs as its service: `api`,
   * `saga-worker`, `psp-sandbox`, …), in the order written. Empty otherwise.
   */
  readonly logLines: ReadonlyArray<Readonly<Record<string, unknown>>>;
  /** An admin key in this system's schema: every request below sends it unless it sets Authorization itself. */
  readonly adminKey: string;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  get(path: string, headers?: Record<string, string>): Promise<ApiResponse>;
  delete(path: string, headers?: Record<string, string>): Promise<ApiResponse>;
  put(path: string, body: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  patch(path: string, body: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  catalog(options: Parameters<typeof createCatalog>[1]): Promise<TestCatalog>;
  placeOrder(
    customer: string,
    items: Array<{ sku: string; quantity: number }>,
    extra?: Record<string, unknown>,
  ): Promise<ApiResponse>;
  waitForFinalStatus(orderId: string, deadlineMs?: number): Promise<string>;
  /** Waits until the order's status (in the write model) is one of these. */
  waitForStatus(orderId: string, statuses: readonly string[], deadlineMs?: number): Promise<string>;
  readonly fulfillment: TestFulfillment | undefined;
  startSagaWorker(): Promise<SagaWorker>;
  /** Stops the projector (as a crash would, between entries) and starts a new one. */
  restartProjector(between?: () => Promise<void>): Promise<void>;
  stopSagaWorkers(): Promise<void>;
  /** Waits until the saga group has acknowledged everything up to this entry of the stream. */
  waitUntilAcknowledged(stream: string, entryId: string): Promise<void>;
  stop(): Promise<void>;
}

export interface TestSystemOptions {
  readonly pspLatencyMs?: number;
  readonly pspTimeoutMs?: number;
  readonly pspRetryDeadlineMs?: number;
  readonly claimIdleMs?: number;
  readonly startSagaWorker?: boolean;
  /** Run the projector in this process (default); a test may run it as a process of its own instead. */
  readonly startProjector?: boolean;
  /** Run the router worker (without the rest of fulfillment). */
  readonly router?: boolean;
  /**
   * Run the whole fulfillment pipeline: router, WMS sandbox (unless `wms: false`, for a test that runs
   * it as a process), fulfillment worker, carrier sandbox and tracker, at test pacing.
   */
  readonly fulfillment?: { readonly wms?: boolean; readonly shortPick?: string };
  /** Run the changes worker (cancellations, edits, refunds) here; on by default with `fulfillment` (false: a test runs it as a process). */
  readonly changes?: boolean;
  readonly env?: Record<string, string>;
  /**
   * The OMS schema (default: a fresh `sys_<id>`). `public` serves a test that gives the system a database
   * of its own through env (MIGRATION_DATABASE_URL and the others), as docker compose deploys it: stop()
   * then leaves the schema (and the database) to that test.
   */
  readonly schema?: string;
  /** The relay's longest idle sleep (default 100 ms); a long one leaves waking it to the outbox's NOTIFY. */
  readonly relayPollMs?: number;
  /** Keep every part's log lines (at info) in `logLines`, each part logging under its own service name. */
  readonly captureLogs?: boolean;
}

/** The fulfillment side of a test system (present when started with `fulfillment` or `router`). */
export interface TestFulfillment {
  readonly router: RouterWorker;
  readonly wms: WmsSimulator | undefined;
  readonly worker: FulfillmentWorker | undefined;
  readonly wmsSchema: string;
  readonly wmsTopic: string;
  readonly carrierUrl: string;
  /** Environment for a WMS sandbox process of this system's own. */
  readonly wmsEnv: Record<string, string>;
}

export async function startTestSystem(options: TestSystemOptions = {}): Promise<TestSystem> {
  const id = uniqueId('t')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '_');
  const schema = options.schema ?? `sys_${id}`;
  const topic = `test-order-events-${id}`;
  const wmsTopic = `test-wms-events-${id}`;
  let stopFulfillment = async () => undefined as void;
  const config = testConfig({
    DATABASE_URL: testServiceDatabaseUrl,
    MIGRATION_DATABASE_URL: testDatabaseUrl,
    SANDBOX_DATABASE_URL: testSandboxDatabaseUrl,
    DATABASE_SCHEMA: schema,
    REDIS_PREFIX: `test:${id}`,
    REDIS_STREAM_PARTITIONS: '4',
    KAFKA_ORDER_EVENTS_TOPIC: topic,
    PSP_TIMEOUT_MS: String(options.pspTimeoutMs ?? 1_000),
    PSP_RETRY_DEADLINE_MS: String(options.pspRetryDeadlineMs ?? 5_000),
    CONSUMER_CLAIM_IDLE_MS: String(options.claimIdleMs ?? 1_000),
    RELAY_ACK_SCAN_MS: '200',
    KAFKA_WMS_EVENTS_TOPIC: wmsTopic,
    WMS_SIM_STEP_MS: '50',
    CARRIER_SIM_STEP_MS: '100',
    TRACKING_POLL_MS: '50',
    TRACKING_MAX_POLL_MS: '200',
    SAGA_POLL_MS: '100',
    SAGA_LEASE_MS: '3000',
    ...options.env,
  });
  const logger = createLogger(`test-${id}`, process.env.TEST_LOG_LEVEL ?? 'silent');
  const logLines: Array<Record<string, unknown>> = [];
  const captured = { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) };
  /** The logger of one part: its own service name, captured, when the test asked for the logs. */
  const loggerFor = (service: string): Logger => (options.captureLogs ? createLogger(service, 'info', captured) : logger);
  await migrateLatest({
    databaseUrl: config.migrationDatabaseUrl,
    schema,
    access: { ...accessFromConfig(config), sandboxSchemas: [] },
  });
  const pool = createPool({ databaseUrl: config.databaseUrl, schema, max: 20, preparedStatements: config.dbPreparedStatements });
  const ownerPool = createPool({ databaseUrl: config.migrationDatabaseUrl, schema, max: 2 });
  const pspPool = createPool({ databaseUrl: config.sandboxDatabaseUrl, schema: `${schema}_psp`, max: 10 });
  await ensurePspSchema(pspPool, `${schema}_psp`);
  const layout: StreamLayout = { prefix: config.redisPrefix, partitions: config.redisStreamPartitions };

  const kafka = createKafka(config.kafkaBrokers, `test-${id}`);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [
    { topic, numPartitions: 4, replicationFactor: 1 },
    { topic: wmsTopic, numPartitions: 4, replicationFactor: 1 },
  ]);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();

  const redis = createRedis(config.redisUrl, `test-${id}`);
  const readers: Redis[] = [];

  const pspLogger = loggerFor('psp-sandbox');
  const { app: pspApp, hanging } = createPspApp({ pool: pspPool, logger: pspLogger, latencyMs: options.pspLatencyMs ?? 0 });
  // Every HTTP server behind the edge as its process runs it (platform/requestTrace).
  const pspServer = await listen(traceRequests(pspApp, { logger: pspLogger }), '127.0.0.1', 0);
  const pspUrl = `http://127.0.0.1:${pspServer.port}`;
  const psp = new PspClient({ baseUrl: pspUrl, timeoutMs: config.pspTimeoutMs });

  const adminKey = (await createTestKey(pool, { name: 'test-system' })).key;
  // One key cache for both servers, as api/main.ts shares one in a process.
  const keys = ApiKeyCache.forDatabase(pool, config.apiKeyCacheMs);
  const limiter = createRateLimiter({
    redis,
    prefix: config.redisPrefix,
    defaults: { perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst },
    logger,
  });
  const apiLogger = loggerFor('api');
  const commandApp = createCommandHandler({
    pool,
    config,
    keys,
    limiter,
    logger: apiLogger,
    healthChecks: {},
    redrive: redriveTargets(redis, async () => producer),
    // The ops overview reads this system's streams and heartbeats, as the API process does (command-service/wiring).
    ops: { redis, layout },
  });
  const commandServer = await listen(traceRequests(commandApp, { logger: apiLogger }), '127.0.0.1', 0);
  // The query service's own server: the fast order read on node:http, the rest on express.
  const queryServer = await listen(
    traceRequests(
      createQueryHandler(pool, createQueryApp({ pool, logger: apiLogger, healthChecks: {} }), {
        keys,
        limiter,
        logger: apiLogger,
      }),
      { logger: apiLogger },
    ),
    '127.0.0.1',
    0,
  );
  // Requests go where the API front (api/main.ts) sends them.
  const urlFor = (method: string, path: string) =>
    `http://127.0.0.1:${upstreamFor(method, path.split('?')[0] ?? path) === 'query' ? queryServer.port : commandServer.port}`;

  const relay = new Relay({
    pool,
    databaseUrl: config.listenDatabaseUrl,
    schema,
    logger: loggerFor('relay'),
    kafka: new KafkaSink(producer, topic),
    // Only the groups this system runs: a group nobody reads would hold every entry (and outbox row) forever.
    redis: new RedisSink(
      redis,
      layout,
      Object.fromEntries(
        SUBSCRIBERS.filter(
          (g) =>
            (g !== Subscriber.router || options.router === true || options.fulfillment !== undefined) &&
            (g !== Subscriber.changes || options.fulfillment !== undefined || options.changes === true),
        ).map((g) => [g, SUBSCRIPTIONS[g]]),
      ),
    ),
    batchSize: 200,
    pollMs: options.relayPollMs ?? 100,
    ackScanMs: config.relayAckScanMs,
    outboxRetentionMs: config.outboxRetentionMs,
  });
  await relay.start();

  const request = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse> => {
    const withKey = { Authorization: `Bearer ${adminKey}`, ...headers };
    const response = await fetch(urlFor(method, path) + path, {
      method,
      headers: body === undefined ? withKey : { 'Content-Type': 'application/json', ...withKey },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
  };

  const system: TestSystem = {
    schema,
    pool,
    ownerPool,
    config,
    layout,
    topic,
    redis,
    psp,
    pspLedger: pspPool,
    pspUrl,
    queryUrl: `http://127.0.0.1:${queryServer.port}`,
    commandUrl: `http://127.0.0.1:${commandServer.port}`,
    urlFor,
    relay,
    sagaWorkers: [],
    logger,
    logLines,
    adminKey,
    post: (path, body, headers) => request('POST', path, body, headers),
    get: (path, headers) => request('GET', path, undefined, headers),
    delete: (path, headers) => request('DELETE', path, undefined, headers),
    put: (path, body, headers) => request('PUT', path, body, headers),
    patch: (path, body, headers) => request('PATCH', path, body, headers),
    catalog: (o) => createCatalog(pool, o),
    placeOrder: (customer, items, extra) => request('POST', '/api/v1/orders', orderBody(customer, items, extra)),
    fulfillment: undefined,
    async waitForStatus(orderId, statuses, deadlineMs = 20_000) {
      return eventually(
        `order ${orderId} ${statuses.join(' or ')}`,
        async () => {
          const row = await pool.query<{ status: string }>('SELECT status::text FROM orders WHERE order_id = $1', [orderId]);
          const status = row.rows[0]?.status;
          return status !== undefined && statuses.includes(status) ? status : undefined;
        },
        deadlineMs,
      );
    },
    async waitForFinalStatus(orderId, deadlineMs = 15_000) {
      return eventually(
        `order ${orderId} confirmed or rejected`,
        async () => {
          const row = await pool.query<{ status: string }>('SELECT status::text FROM orders WHERE order_id = $1', [orderId]);
          const status = row.rows[0]?.status;
          return status === 'confirmed' || status === 'rejected' ? status : undefined;
        },
        deadlineMs,
      );
    },
    async startSagaWorker() {
      const reader = createRedis(config.redisUrl, `test-${id}-reader`);
      readers.push(reader);
      const worker = new SagaWorker({
        pool,
        reader,
        commands: redis,
        psp,
        logger: loggerFor('saga-worker'),
        ...sagaWorkerSettings(config),
      });
      await worker.start();
      system.sagaWorkers.push(worker);
      return worker;
    },
    restartProjector: async () => undefined,
    async stopSagaWorkers() {
      await Promise.all(system.sagaWorkers.splice(0).map((w) => w.stop()));
    },
    async waitUntilAcknowledged(stream, entryId) {
      await eventually(`${stream} ${entryId} acknowledged by the saga group`, async () => {
        const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
        const saga = groups.map((g) => parseFields(g.map(String))).find((g) => g.name === 'saga');
        if (saga === undefined || saga.pending !== '0') return undefined;
        return compareStreamIds(saga['last-delivered-id'] ?? '0-0', entryId) >= 0 ? true : undefined;
      });
    },
    async stop() {
      await stopFulfillment();
      await system.stopSagaWorkers();
      await relay.stop();
      for (const res of hanging) res.destroy();
      psp.shutdown();
      await projector.stop();
      await Promise.allSettled([commandServer.close(), queryServer.close(), pspServer.close()]);
      await producer.disconnect().catch(() => undefined);
      await admin.deleteTopics({ topics: [topic, wmsTopic] }).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      const keys = await redis.keys(`${config.redisPrefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      for (const reader of readers) reader.disconnect();
      redis.disconnect();
      await pool.end();
      await ownerPool.end();
      await pspPool.end();
      const cleanup = createPool({ databaseUrl: config.migrationDatabaseUrl, schema: 'public', max: 1 });
      if (schema !== 'public') await cleanup.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      await cleanup.query(`DROP SCHEMA IF EXISTS ${quoteIdent(`${schema}_psp`)} CASCADE`);
      await cleanup.query(`DROP SCHEMA IF EXISTS ${quoteIdent(`${schema}_wms`)} CASCADE`);
      await cleanup.end();
    },
  };
  const projectorReader = createRedis(config.redisUrl, `test-${id}-projector`);
  readers.push(projectorReader);
  let projector = new Projector({ pool, reader: projectorReader, commands: redis, logger, ...projectorSettings(config) });
  if (options.startProjector ?? true) await projector.start();
  system.restartProjector = async (between) => {
    await projector.stop();
    await between?.();
    projector = new Projector({ pool, reader: projectorReader, commands: redis, logger, ...projectorSettings(config) });
    await projector.start();
  };
  if (options.startSagaWorker ?? true) await system.startSagaWorker();

  // Fulfillment at test pacing: every simulated step takes tens of milliseconds, not seconds.
  const stops: Array<() => Promise<void>> = [];
  stopFulfillment = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  if (options.changes === true || (options.fulfillment !== undefined && options.changes !== false)) {
    const changesReader = createRedis(config.redisUrl, `test-${id}-changes`);
    readers.push(changesReader);
    const changes = new ChangesWorker({
      pool,
      reader: changesReader,
      commands: redis,
      psp,
      logger: loggerFor('changes-worker'),
      ...changesWorkerSettings(config),
    });
    await changes.start();
    stops.push(() => changes.stop());
  }
  if (options.router || options.fulfillment) {
    const routerReader = createRedis(config.redisUrl, `test-${id}-router`);
    readers.push(routerReader);
    const router = new RouterWorker({
      pool,
      reader: routerReader,
      commands: redis,
      logger: loggerFor('router'),
      ...routerWorkerSettings(config),
    });
    await router.start();
    stops.push(() => router.stop());
    let wms: WmsSimulator | undefined;
    let worker: FulfillmentWorker | undefined;
    let carrierUrl = '';
    const wmsSchema = `${schema}_wms`;
    const wmsEnv = {
      DATABASE_URL: testServiceDatabaseUrl,
      SANDBOX_DATABASE_URL: testSandboxDatabaseUrl,
      // The OMS schema, where the sandbox's dead letters go (its own ledger is WMS_DATABASE_SCHEMA).
      DATABASE_SCHEMA: schema,
      KAFKA_ORDER_EVENTS_TOPIC: topic,
      KAFKA_WMS_EVENTS_TOPIC: wmsTopic,
      WMS_DATABASE_SCHEMA: wmsSchema,
      WMS_CONSUMER_GROUP: `test-wms-${id}`,
      WMS_SIM_STEP_MS: config.wmsSimStepMs.toString(),
      WMS_SHORT_PICK: options.fulfillment?.shortPick ?? '',
      LOG_LEVEL: 'info',
    };
    if (options.fulfillment) {
      const carrierLogger = loggerFor('carrier-sandbox');
      const carrierServer = await listen(
        traceRequests(createCarrierApp({ logger: carrierLogger, stepMs: config.carrierSimStepMs }), { logger: carrierLogger }),
        '127.0.0.1',
        0,
      );
      carrierUrl = `http://127.0.0.1:${carrierServer.port}`;
      stops.push(() => carrierServer.close());
      const carrier = new CarrierClient(carrierUrl, 1_000);
      const tracker = new Tracker({ pool, carrier, logger: loggerFor('tracking'), ...trackerSettings(config), tickMs: 50 });
      tracker.start();
      stops.push(async () => {
        await tracker.stop();
        carrier.shutdown();
      });
      worker = new FulfillmentWorker({
        pool,
        kafka,
        psp,
        logger: loggerFor('fulfillment'),
        ...fulfillmentSettings(config),
        capturePollMs: 200,
      });
      await worker.start();
      stops.push(() => worker?.stop() ?? Promise.resolve());
      if (options.fulfillment.wms ?? true) {
        const wmsPool = createPool({ databaseUrl: config.sandboxDatabaseUrl, schema: wmsSchema, max: 4 });
        await ensureWmsSchema(wmsPool, wmsSchema);
        // Its dead letters go to the OMS's table as the sandbox role, as simulators/wms/main.ts does.
        const wmsDeadLetters = createPool({ databaseUrl: config.sandboxDatabaseUrl, schema, max: 1 });
        wms = new WmsSimulator({
          pool: wmsPool,
          kafka,
          requestsTopic: topic,
          answersTopic: wmsTopic,
          groupId: wmsEnv.WMS_CONSUMER_GROUP,
          stepMs: config.wmsSimStepMs,
          shortPicks: parseShortPicks(wmsEnv.WMS_SHORT_PICK),
          logger: loggerFor('wms-sandbox'),
          maxAttempts: config.kafkaConsumerMaxAttempts,
          backoff: consumerBackoff(config),
          deadLetters: new PgDeadLetters(wmsDeadLetters, logger),
        });
        await wms.start();
        stops.push(async () => {
          await wms?.stop();
          await Promise.allSettled([wmsPool.end(), wmsDeadLetters.end()]);
        });
        await wms.joined;
      }
      await worker.joined;
    }
    (system as { fulfillment: TestFulfillment | undefined }).fulfillment = {
      router,
      wms,
      worker,
      wmsSchema,
      wmsTopic,
      carrierUrl,
      wmsEnv,
    };
  }
  return system;
}

/** The event types of an order, in seq order. */
export async function eventTypes(pool: Pool, orderId: string): Promise<string[]> {
  const result = await pool.query<{ type: string }>('SELECT type FROM order_events WHERE order_id = $1 ORDER BY seq', [orderId]);
  return result.rows.map((r) => r.type);
}

/** on_hand and reserved of one SKU at one warehouse. */
export async function stockOf(pool: Pool, warehouseId: string, sku: string): Promise<{ on_hand: number; reserved: number }> {
  const result = await pool.query<{ on_hand: number; reserved: number }>(
    'SELECT on_hand, reserved FROM inventory WHERE warehouse_id = $1 AND sku = $2',
    [warehouseId, sku],
  );
  return result.rows[0] ?? { on_hand: 0, reserved: 0 };
}

/** Authorizations the PSP sandbox holds for a saga (its reference). */
export async function pspAuthorizations(system: TestSystem, sagaId: string): Promise<Array<{ status: string; amount: number }>> {
  return (await system.psp.authorizationsFor(sagaId)) as unknown as Array<{ status: string; amount: number }>;
}

/**
 * Starts one service of the system as its own process against this test system's schema, Redis
 * prefix and PSP, and resolves once it logs `readyMessage`. The caller kills it (or the test's after hook).
 */
export async function startServiceProcess(
  system: TestSystem,
  script: string,
  readyMessage: string,
  extraEnv: Record<string, string> = {},
): Promise<RunningProcess> {
  const child = startNode(script, {
    DATABASE_URL: testServiceDatabaseUrl,
    SANDBOX_DATABASE_URL: testSandboxDatabaseUrl,
    DATABASE_SCHEMA: system.schema,
    REDIS_PREFIX: system.config.redisPrefix,
    REDIS_STREAM_PARTITIONS: String(system.config.redisStreamPartitions),
    PSP_URL: system.pspUrl,
    CONSUMER_CLAIM_IDLE_MS: '500',
    LOG_LEVEL: 'info',
    ...extraEnv,
  });
  const started = Date.now();
  try {
    // A restart after SIGKILL may wait for PostgreSQL to drop the killed process's sessions and locks:
    // give it room, and say what the process printed when it still did not come up.
    await eventually(
      readyMessage,
      async () => {
        if (child.child.exitCode !== null) throw new Error(`${script} exited with ${child.child.exitCode}`);
        return child.lines.some((l) => typeof l === 'object' && l.msg === readyMessage) ? true : undefined;
      },
      30_000,
    );
  } catch (error) {
    const tail = child.lines.slice(-20).map((l) => (typeof l === 'string' ? l : JSON.stringify(l)));
    child.child.kill('SIGKILL');
    throw new Error(
      `${script} not ready after ${Date.now() - started} ms (${(error as Error).message}); its last lines:\n${tail.join('\n')}`,
      { cause: error },
    );
  }
  return child;
}
