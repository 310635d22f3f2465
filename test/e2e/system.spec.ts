import { expect } from 'chai';
import { createPool } from '../../platform/db.js';
import { createKafka } from '../../platform/kafka.js';
import { quoteIdent } from '../../platform/migrate.js';
import { createRedis } from '../../platform/redis.js';
import { createCatalog, orderBody } from '../support/catalog.js';
import { eventually, testConfig, testDatabaseUrl, uniqueId } from '../support/env.js';
import { freePort, startNode, type RunningProcess } from '../support/processes.js';

describe('the system as npm start runs it (supervisor and service processes)', function () {
  this.timeout(120_000);
  const id = uniqueId('npmstart')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '_');
  const env = {
    DATABASE_URL: testDatabaseUrl,
    DATABASE_SCHEMA: id,
    PSP_DATABASE_SCHEMA: `${id}_psp`,
    REDIS_PREFIX: `test:${id}`,
    KAFKA_ORDER_EVENTS_TOPIC: `test-${id}`,
    KAFKA_TOPIC_PARTITIONS: '4',
    SEED_DEMO_CATALOG: 'false',
    LOG_LEVEL: 'info',
  };
  let system: RunningProcess;
  let baseUrl: string;

  before(async () => {
    const [port, commandPort, queryPort, pspPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    baseUrl = `http://127.0.0.1:${port}`;
    system = startNode('dist/scripts/start.js', {
      ...env,
      PORT: String(port),
      COMMAND_PORT: String(commandPort),
      QUERY_PORT: String(queryPort),
      PSP_PORT: String(pspPort),
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
    await pool.end();
    const redis = createRedis(config.redisUrl, 'test-cleanup');
    const keys = await redis.keys(`${config.redisPrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    const admin = createKafka(config.kafkaBrokers, 'test-cleanup').admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [config.orderEventsTopic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('reports every dependency up on GET /health', async () => {
    const res = await fetch(`${baseUrl}/health`);
    const body = (await res.json()) as { status: string; dependencies: Record<string, { status: string }> };
    expect(body.status).to.equal('ok');
    expect(Object.keys(body.dependencies)).to.include.members(['postgres', 'redis', 'kafka']);
    expect(Object.values(body.dependencies).every((d) => d.status === 'up')).to.equal(true);
  });

  it('takes an order through the separate processes to confirmed', async () => {
    const pool = createPool({ databaseUrl: testDatabaseUrl, schema: id, max: 2 });
    try {
      const { skus } = await createCatalog(pool, { prices: [1999], stock: [[3]] });
      const placed = await fetch(`${baseUrl}/api/v1/orders`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(orderBody(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }])),
      });
      expect(placed.status).to.equal(202);
      const { order_id } = (await placed.json()) as { order_id: string };
      const status = await eventually(
        'order confirmed',
        async () => {
          const order = (await (await fetch(`${baseUrl}/api/v1/orders/${order_id}`)).json()) as { status: string };
          return order.status === 'placed' ? undefined : order.status;
        },
        20_000,
        100,
      );
      expect(status).to.equal('confirmed');
    } finally {
      await pool.end();
    }
  });

  it('restarts a service process that was killed', async () => {
    const started = () =>
      system.lines.filter(
        (l): l is Record<string, unknown> =>
          typeof l === 'object' && l.msg === 'service started' && l.child === 'command-service',
      );
    const first = started()[0];
    expect(first).to.not.equal(undefined);
    process.kill(first!.child_pid as number, 'SIGKILL');
    await eventually('a second command-service process', async () => (started().length >= 2 ? true : undefined), 20_000);
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
    expect(stopped).to.include.members([
      'gateway',
      'command-service',
      'query-service',
      'projector',
      'relay',
      'saga-worker',
      'psp-sandbox',
    ]);
    const refused = await fetch(`${baseUrl}/health`).then(
      () => false,
      () => true,
    );
    expect(refused).to.equal(true);
  });
});
