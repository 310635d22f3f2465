import { upstreamFor } from '../../api/routes.js';
import * as commandService from '../../command-service/service.js';
import * as analyticsService from '../../query-service/analytics/service.js';
import * as queryService from '../../query-service/service.js';
import * as projectorService from '../../query-service/projector/service.js';
import * as relayService from '../../relay/service.js';
import type { Relay } from '../../relay/relay.js';
import * as carrierSandbox from '../../simulators/carrier/service.js';
import * as pspSandbox from '../../simulators/psp/service.js';
import * as wmsSandbox from '../../simulators/wms/service.js';
import { parseShortPicks } from '../../simulators/wms/shortPick.js';
import type { WmsSimulator } from '../../simulators/wms/wms.js';
import * as changesService from '../../workers/changes/service.js';
import * as fulfillmentService from '../../workers/fulfillment/service.js';
import type { FulfillmentWorker } from '../../workers/fulfillment/fulfillmentWorker.js';
import * as routerService from '../../workers/router/service.js';
import type { RouterWorker } from '../../workers/router/routerWorker.js';
import * as sagaService from '../../workers/saga/service.js';
import type { SagaWorker } from '../../workers/saga/sagaWorker.js';
import * as trackingService from '../../workers/tracking/service.js';
import type { Config } from '../../platform/config.js';
import { createPool, type Pool } from '../../platform/db.js';
import { createKafka, ensureTopics } from '../../platform/kafka.js';
import { createLogger, type Logger } from '../../platform/logger.js';
import { migrateLatest, quoteIdent } from '../../platform/migrate.js';
import { PspClient } from '../../platform/psp.js';
import { accessFromConfig } from '../../platform/databaseRoles.js';
import { createRedis, type Redis } from '../../platform/redis.js';
import { parseFields, type StreamLayout } from '../../platform/streams.js';
import { Shutdown, type RunningService } from '../../platform/wiring.js';
import { SUBSCRIBERS, Subscriber } from '../../domain/subscriptions.js';
import { compareStreamIds } from '../../relay/redisSink.js';
import { createTestKey } from './apiKeys.js';
import { createCatalog, createSplitCatalog, newYorkAddress, orderBody, type TestCatalog } from './catalog.js';
import type { ApiResponse } from './commandApi.js';
import { eventually, testConfig, testDatabaseUrl, testSandboxDatabaseUrl, testServiceDatabaseUrl, uniqueId } from './env.js';
import { startNode, type RunningProcess } from './processes.js';

/**
 * A whole placement pipeline of the test's own: its own PostgreSQL schema (migrated), Redis key
 * prefix, Kafka topic and PSP ledger schema, with the command API, the relay, the PSP sandbox and a
 * saga worker running in this process against the real services. stop() removes all of it.
 * Each part is started by its service's own `start` (the one its main.ts runs), sharing this system's
 * pool and Redis and Kafka clients; where the system differs (test pacing, ports of its own choosing,
 * only the consumer groups it runs) it says so through the configuration and the `start` deps.
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
  /**
   * An order that splits into two shipments: a split catalog of the test's own (createSplitCatalog),
   * then a new customer's order of quantities[i] units of skus[i] (default 2 and 3).
   */
  placeSplitOrder(options?: SplitOrderOptions): Promise<PlacedOrder>;
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

export interface SplitOrderOptions {
  readonly prices?: readonly [number, number];
  /** Units of each SKU at its warehouse (default 5). */
  readonly units?: number;
  readonly quantities?: readonly [number, number];
  /** More of the order's body (a shipping address, …). */
  readonly extra?: Record<string, unknown>;
  /** What the test sets up for this catalog before the order is placed (the WMS holding a warehouse, …). */
  readonly beforePlacing?: (catalog: TestCatalog) => void | Promise<void>;
}

/** An order placed with a catalog of its own: the catalog, the placement's answer and the order's id. */
export interface PlacedOrder extends TestCatalog {
  readonly placed: ApiResponse;
  readonly orderId: string;
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
  /** Run analytics here: the order funnel's consumer group (of this system's own) on the system's topic. */
  readonly analytics?: boolean;
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
  let stopOptionalParts = async () => undefined as void;
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
    // No daily audit anchors unless a test asks: a run across midnight would publish one among its events.
    AUDIT_ANCHOR_EVERY_MS: '0',
    ...options.env,
    // What only this system sets: every server on a port of its own choosing, the sandboxes' ledgers
    // in schemas of this system's own, the relay at test pacing, and readiness that asks for no worker
    // heartbeat (the workers run here, without one).
    HOST: '127.0.0.1',
    COMMAND_PORT: '0',
    QUERY_PORT: '0',
    PSP_PORT: '0',
    CARRIER_PORT: '0',
    PSP_DATABASE_SCHEMA: `${schema}_psp`,
    PSP_LATENCY_MS: String(options.pspLatencyMs ?? 0),
    WMS_DATABASE_SCHEMA: `${schema}_wms`,
    WMS_CONSUMER_GROUP: `test-wms-${id}`,
    FUNNEL_CONSUMER_GROUP: `test-funnel-${id}`,
    WMS_SHORT_PICK: options.fulfillment?.shortPick ?? '',
    CARRIER_TIMEOUT_MS: '1000',
    RELAY_BATCH_SIZE: '200',
    RELAY_POLL_MS: String(options.relayPollMs ?? 100),
    READY_WORKERS: '',
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
  // The PSP's ledger, given to the sandbox so that the test reads what the partner holds through it.
  const pspPool = createPool({ databaseUrl: config.sandboxDatabaseUrl, schema: config.pspDatabaseSchema, max: 10 });
  const layout: StreamLayout = { prefix: config.redisPrefix, partitions: config.redisStreamPartitions };

  const kafka = createKafka(config.kafkaBrokers, `test-${id}`);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [
    { topic, numPartitions: 4, replicationFactor: 1 },
    { topic: wmsTopic, numPartitions: 4, replicationFactor: 1 },
  ]);

  const redis = createRedis(config.redisUrl, `test-${id}`);
  /** What every part of this system shares: its pool and its Redis and Kafka clients. */
  const shared = { pool, redis, kafka };

  const startProjector = () => projectorService.start(config, { logger: loggerFor('projector'), pool, redis });
  const pspServer = await pspSandbox.start(config, { logger: loggerFor('psp-sandbox'), pool: pspPool });
  const pspUrl = `http://127.0.0.1:${pspServer.port}`;
  const psp = new PspClient({ baseUrl: pspUrl, timeoutMs: config.pspTimeoutMs });

  const adminKey = (await createTestKey(pool, { name: 'test-system' })).key;
  // The command and the query service each on its own port, sharing one key cache and rate limiter,
  // as api/service.ts shares them in a process.
  const apiLogger = loggerFor('api');
  const commandServer = await commandService.start(config, { logger: apiLogger, ...shared });
  const queryServer = await queryService.start(config, {
    logger: apiLogger,
    pool,
    keys: commandServer.keys,
    limiter: commandServer.limiter,
  });
  // Requests go where the API front (api/service.ts) sends them.
  const urlFor = (method: string, path: string) =>
    `http://127.0.0.1:${upstreamFor(method, path.split('?')[0] ?? path) === 'query' ? queryServer.port : commandServer.port}`;

  const relayRunning = await relayService.start(config, {
    logger: loggerFor('relay'),
    ...shared,
    // Only the groups this system runs: a group nobody reads would hold every entry (and outbox row) forever.
    groups: SUBSCRIBERS.filter(
      (g) =>
        (g !== Subscriber.router || options.router === true || options.fulfillment !== undefined) &&
        (g !== Subscriber.changes || options.fulfillment !== undefined || options.changes === true),
    ),
  });
  const relay = relayRunning.relay;

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

  /** The saga workers this system started, each with its service's stop (its reader included). */
  const sagaServices = new Map<SagaWorker, RunningService>();
  let projector: RunningService | undefined;
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
    async placeSplitOrder({ prices, units, quantities = [2, 3], extra, beforePlacing } = {}) {
      const catalog = await createSplitCatalog(pool, { prices, units });
      await beforePlacing?.(catalog);
      const items = catalog.skus.map((sku, i) => ({ sku, quantity: quantities[i]! }));
      const placed = await system.placeOrder(uniqueId('cust'), items, extra);
      return { ...catalog, placed, orderId: placed.body.order_id as string };
    },
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
      const service = await sagaService.start(config, { logger: loggerFor('saga-worker'), pool, redis, psp });
      sagaServices.set(service.worker, service);
      system.sagaWorkers.push(service.worker);
      return service.worker;
    },
    async restartProjector(between) {
      await projector?.stop();
      await between?.();
      projector = await startProjector();
    },
    async stopSagaWorkers() {
      // A worker a test made itself and pushed here is stopped as it is.
      await Promise.all(system.sagaWorkers.splice(0).map((w) => (sagaServices.get(w) ?? w).stop()));
      sagaServices.clear();
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
      await stopOptionalParts();
      await system.stopSagaWorkers();
      await relayRunning.stop().catch(() => undefined);
      psp.shutdown();
      await projector?.stop().catch(() => undefined);
      await Promise.allSettled([commandServer.stop(), queryServer.stop(), pspServer.stop()]);
      await admin.deleteTopics({ topics: [topic, wmsTopic] }).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      const keys = await redis.keys(`${config.redisPrefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      await pool.end();
      await ownerPool.end();
      await pspPool.end();
      const cleanup = createPool({ databaseUrl: config.migrationDatabaseUrl, schema: 'public', max: 1 });
      if (schema !== 'public') await cleanup.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      await cleanup.query(`DROP SCHEMA IF EXISTS ${quoteIdent(config.pspDatabaseSchema)} CASCADE`);
      await cleanup.query(`DROP SCHEMA IF EXISTS ${quoteIdent(config.wmsDatabaseSchema)} CASCADE`);
      await cleanup.end();
    },
  };
  if (options.startProjector ?? true) projector = await startProjector();
  if (options.startSagaWorker ?? true) await system.startSagaWorker();

  // The parts a test asks for (changes, analytics, fulfillment), stopped by stop(). Fulfillment runs
  // at test pacing: every simulated step takes tens of milliseconds, not seconds.
  const stops = new Shutdown();
  stopOptionalParts = () => stops.run().catch(() => undefined);
  if (options.changes === true || (options.fulfillment !== undefined && options.changes !== false)) {
    const changes = await changesService.start(config, { logger: loggerFor('changes'), pool, redis, psp });
    stops.add(() => changes.stop());
  }
  if (options.analytics === true) {
    const analytics = await analyticsService.start(config, { logger: loggerFor('analytics'), pool, kafka });
    stops.add(() => analytics.stop());
  }
  if (options.router || options.fulfillment) {
    const router = await routerService.start(config, { logger: loggerFor('router'), pool, redis });
    stops.add(() => router.stop());
    let wms: WmsSimulator | undefined;
    let worker: FulfillmentWorker | undefined;
    let carrierUrl = '';
    const wmsEnv = {
      DATABASE_URL: testServiceDatabaseUrl,
      SANDBOX_DATABASE_URL: testSandboxDatabaseUrl,
      // The OMS schema, where the sandbox's dead letters go (its own ledger is WMS_DATABASE_SCHEMA).
      DATABASE_SCHEMA: schema,
      KAFKA_ORDER_EVENTS_TOPIC: topic,
      KAFKA_WMS_EVENTS_TOPIC: wmsTopic,
      WMS_DATABASE_SCHEMA: config.wmsDatabaseSchema,
      WMS_CONSUMER_GROUP: config.wmsConsumerGroup,
      WMS_SIM_STEP_MS: config.wmsSimStepMs.toString(),
      WMS_SHORT_PICK: config.wmsShortPick,
      LOG_LEVEL: 'info',
    };
    if (options.fulfillment) {
      const carrier = await carrierSandbox.start(config, { logger: loggerFor('carrier-sandbox') });
      carrierUrl = `http://127.0.0.1:${carrier.port}`;
      stops.add(() => carrier.stop());
      const tracking = await trackingService.start(
        { ...config, carrierUrl },
        { logger: loggerFor('tracking'), pool, settings: { tickMs: 50 } },
      );
      stops.add(() => tracking.stop());
      const fulfillment = await fulfillmentService.start(config, {
        logger: loggerFor('fulfillment'),
        pool,
        kafka,
        psp,
        settings: { capturePollMs: 200 },
      });
      worker = fulfillment.worker;
      stops.add(() => fulfillment.stop());
      if (options.fulfillment.wms ?? true) {
        const sandbox = await wmsSandbox.start(config, { logger: loggerFor('wms-sandbox'), kafka });
        wms = sandbox.wms;
        stops.add(() => sandbox.stop());
        await wms.joined;
      }
      await worker.joined;
    }
    (system as { fulfillment: TestFulfillment | undefined }).fulfillment = {
      router: router.worker,
      wms,
      worker,
      wmsSchema: config.wmsDatabaseSchema,
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

/**
 * A short-picked order no warehouse can make up: 3 of skus[0] (1000 each) and 2 of skus[1] (500 each)
 * to New York, from the one warehouse that holds exactly that, whose in-process WMS finds 2 of skus[0]
 * missing. Placed, not waited for.
 */
export async function placeShortPickedOrder(system: TestSystem): Promise<PlacedOrder> {
  const catalog = await system.catalog({ prices: [1000, 500], stock: [[3, 2]] });
  const [shortSku, otherSku] = catalog.skus as [string, string];
  system.fulfillment!.wms!.setShortPicks(parseShortPicks(`${shortSku}=2`));
  const placed = await system.placeOrder(
    uniqueId('cust'),
    [
      { sku: shortSku, quantity: 3 },
      { sku: otherSku, quantity: 2 },
    ],
    { shipping_address: newYorkAddress },
  );
  return { ...catalog, placed, orderId: placed.body.order_id as string };
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
