import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool } from '../../platform/db.js';
import { createKafka } from '../../platform/kafka.js';
import { quoteIdent } from '../../platform/migrate.js';
import { createRedis } from '../../platform/redis.js';
import { createCatalog, orderBody } from '../support/catalog.js';
import {
  eventually,
  testConfig,
  testDatabaseUrl,
  testSandboxDatabaseUrl,
  testServiceDatabaseUrl,
  uniqueId,
} from '../support/env.js';
import { freePorts, startNode, type RunningProcess } from '../support/processes.js';

interface HealthReport {
  status: string;
  dependencies: Record<string, { status: string; detail?: string }>;
}

describe('the system as npm start runs it (supervisor and service processes)', function () {
  this.timeout(120_000);
  const id = uniqueId('npmstart')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '_');
  const adminKey = `oms_test_${randomBytes(24).toString('base64url')}`;
  const demoKeysFile = join(tmpdir(), `${id}-demo-keys.json`);
  const env = {
    // Least privilege as a deployment runs it (decision 0015): setup as the owner, which creates the
    // roles and grants; the services as the service role; the sandboxes as theirs.
    DATABASE_URL: testServiceDatabaseUrl,
    MIGRATION_DATABASE_URL: testDatabaseUrl,
    SANDBOX_DATABASE_URL: testSandboxDatabaseUrl,
    DATABASE_SCHEMA: id,
    PSP_DATABASE_SCHEMA: `${id}_psp`,
    REDIS_PREFIX: `test:${id}`,
    KAFKA_ORDER_EVENTS_TOPIC: `test-${id}`,
    KAFKA_TOPIC_PARTITIONS: '4',
    // Fulfillment of its own (ledger, topic, groups) at test pacing.
    WMS_DATABASE_SCHEMA: `${id}_wms`,
    KAFKA_WMS_EVENTS_TOPIC: `test-wms-${id}`,
    WMS_CONSUMER_GROUP: `test-wms-${id}`,
    FULFILLMENT_CONSUMER_GROUP: `test-fulfillment-${id}`,
    WMS_SIM_STEP_MS: '100',
    CARRIER_SIM_STEP_MS: '200',
    TRACKING_POLL_MS: '100',
    TRACKING_MAX_POLL_MS: '400',
    SEED_DEMO_CATALOG: 'false',
    LOG_LEVEL: 'info',
    // A known admin key, as a deployment sets one; the demo keys go to a file of this test's own.
    OMS_BOOTSTRAP_ADMIN_KEY: adminKey,
    OMS_DEMO_KEYS_FILE: demoKeysFile,
    // Metrics ports of this run's own (npm start counts up from here), clear of another run's.
    METRICS_BASE_PORT: String(20_000 + Math.floor(Math.random() * 20_000)),
  };
  const auth = { Authorization: `Bearer ${adminKey}` };
  let system: RunningProcess;
  let baseUrl: string;

  before(async () => {
    const [port, commandPort, queryPort, pspPort, carrierPort] = await freePorts(5);
    baseUrl = `http://127.0.0.1:${port}`;
    system = startNode('dist/scripts/start.js', {
      ...env,
      PORT: String(port),
      COMMAND_PORT: String(commandPort),
      QUERY_PORT: String(queryPort),
      PSP_PORT: String(pspPort),
      CARRIER_PORT: String(carrierPort),
    });
    await eventually(
      'GET /health answers 200',
      async () => ((await fetch(`${baseUrl}/health`).catch(() => undefined))?.status === 200 ? true : undefined),
      90_000,
      200,
    );
  });

  after(async () => {
    if (system.child.exitCode === null) {
      system.child.kill('SIGKILL');
      await system.exited;
    }
    const config = testConfig(env);
    const pool = createPool({ databaseUrl: testDatabaseUrl, schema: 'public', max: 1 });
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(id)} CASCADE`);
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(`${id}_psp`)} CASCADE`);
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(`${id}_wms`)} CASCADE`);
    await pool.end();
    rmSync(demoKeysFile, { force: true });
    const redis = createRedis(config.redisUrl, 'test-cleanup');
    const keys = await redis.keys(`${config.redisPrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    const admin = createKafka(config.kafkaBrokers, 'test-cleanup').admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [config.orderEventsTopic, config.wmsEventsTopic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('reports every dependency up on GET /health', async () => {
    const res = await fetch(`${baseUrl}/health`);
    const body = (await res.json()) as { status: string; dependencies: Record<string, { status: string }> };
    expect(body.status).to.equal('ok');
    expect(Object.keys(body.dependencies)).to.include.members(['postgres', 'redis', 'kafka']);
    expect(Object.values(body.dependencies).every((d) => d.status === 'up')).to.equal(true);
  });

  it('is ready with every worker beating, and each service answers /metrics on the port npm start printed', async () => {
    const ready = (await (await fetch(`${baseUrl}/health/ready`)).json()) as HealthReport;
    expect(ready.status).to.equal('ok');
    expect(ready.dependencies.workers?.status).to.equal('up');
    const printed = system.lines.find((l): l is string => typeof l === 'string' && l.startsWith('oms: metrics:'));
    expect(printed).to.be.a('string');
    const relayPort = printed!.match(/relay :(\d+)/)?.[1];
    const sagaPort = printed!.match(/saga-worker :(\d+)/)?.[1];
    expect(relayPort).to.equal(env.METRICS_BASE_PORT);
    const relay = await (await fetch(`http://127.0.0.1:${relayPort}/metrics`)).text();
    expect(relay).to.include('oms_relay_published_total');
    expect(relay).to.match(/^nodejs_eventloop_lag_seconds\{service="relay"\}/m);
    expect((await fetch(`http://127.0.0.1:${sagaPort}/health/live`)).status).to.equal(200);
    expect(await (await fetch(`${baseUrl}/metrics`)).text()).to.include('oms_http_request_duration_seconds');
  });

  it('created the demo keys on its empty database: the known admin key and one key per channel, in the file', async () => {
    const written = JSON.parse(readFileSync(demoKeysFile, 'utf8')) as {
      admin: { key: string };
      channels: Record<string, { key: string }>;
    };
    expect(written.admin.key).to.equal(adminKey);
    expect(Object.keys(written.channels)).to.have.members(['web', 'mobile', 'pos', 'marketplace']);
    const listing = await fetch(`${baseUrl}/api/v1/orders?limit=1`, {
      headers: { Authorization: `Bearer ${written.channels.web!.key}` },
    });
    expect(listing.status).to.equal(200);
    expect((await fetch(`${baseUrl}/api/v1/orders?limit=1`)).status).to.equal(401);
  });

  it('takes an order through the separate processes to delivered, captured and invoiced', async () => {
    const pool = createPool({ databaseUrl: testDatabaseUrl, schema: id, max: 2 });
    try {
      const { skus } = await createCatalog(pool, { prices: [1999], stock: [[3]] });
      const placed = await fetch(`${baseUrl}/api/v1/orders`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...auth },
        body: JSON.stringify(orderBody(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }])),
      });
      expect(placed.status).to.equal(202);
      const { order_id } = (await placed.json()) as { order_id: string };
      const order = await eventually(
        'order delivered',
        async () => {
          const view = (await (await fetch(`${baseUrl}/api/v1/orders/${order_id}`, { headers: auth })).json()) as {
            status: string;
            payments: Array<{ amount_captured: number }>;
          };
          return view.status === 'delivered' || view.status === 'rejected' ? view : undefined;
        },
        40_000,
        100,
      );
      expect(order.status).to.equal('delivered');
      expect(order.payments[0]?.amount_captured).to.equal(1999);
      const events = (await (await fetch(`${baseUrl}/api/v1/orders/${order_id}/events`, { headers: auth })).json()) as {
        events: Array<{ type: string }>;
      };
      expect(events.events.map((e) => e.type)).to.include.members([
        'order.confirmed',
        'shipment.created',
        'shipment.shipped',
        'payment.captured',
        'invoice.issued',
        'shipment.delivered',
      ]);
      const invoices = (await (await fetch(`${baseUrl}/api/v1/orders/${order_id}/invoices`, { headers: auth })).json()) as {
        invoices: Array<{ total: number }>;
      };
      expect(invoices.invoices.map((i) => i.total)).to.deep.equal([1999]);
    } finally {
      await pool.end();
    }
  });

  it('runs the services as the service role and the sandboxes as the sandbox role, none as the owner', async () => {
    const pool = createPool({ databaseUrl: testDatabaseUrl, schema: 'public', max: 1 });
    try {
      const { rows } = await pool.query<{ app: string; role: string }>(
        `SELECT DISTINCT application_name AS app, usename AS role FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = ANY($1)`,
        [
          [
            'api',
            'relay',
            'saga-worker',
            'projector',
            'router',
            'fulfillment',
            'tracking',
            'changes',
            'psp-sandbox',
            'wms-sandbox',
          ],
        ],
      );
      // An idle pool closes its connections after 30 s: every connection there is, and the busy ones at least.
      expect(rows.map((r) => r.app)).to.include.members(['api', 'saga-worker', 'psp-sandbox']);
      for (const { app, role } of rows) expect(role, app).to.equal(app.endsWith('-sandbox') ? 'oms_sandbox' : 'oms_service');
    } finally {
      await pool.end();
    }
  });

  it('restarts a service process that was killed', async () => {
    const started = () =>
      system.lines.filter(
        (l): l is Record<string, unknown> => typeof l === 'object' && l.msg === 'service started' && l.child === 'api',
      );
    const first = started()[0];
    expect(first).to.not.equal(undefined);
    process.kill(first!.child_pid as number, 'SIGKILL');
    await eventually('a second api process', async () => (started().length >= 2 ? true : undefined), 20_000);
    await eventually(
      'GET /health answers 200 again',
      async () => ((await fetch(`${baseUrl}/health`).catch(() => undefined))?.status === 200 ? true : undefined),
      20_000,
      100,
    );
  });

  it('stops every process cleanly on SIGINT', async () => {
    system.child.kill('SIGINT');
    expect(await system.exited).to.equal(0);
    const stopped = system.lines
      .filter((l) => typeof l === 'object' && l.msg === 'stopped')
      .map((l) => (l as Record<string, unknown>).service);
    expect(stopped).to.include.members(['api', 'projector', 'relay', 'saga-worker', 'psp-sandbox']);
    const refused = await fetch(`${baseUrl}/health`).then(
      () => false,
      () => true,
    );
    expect(refused).to.equal(true);
  });
});
