import { expect } from 'chai';
import { createPool, type Pool } from '../../platform/db.js';
import { listDeadLetters } from '../../platform/deadLetters.js';
import { createRedis, type Redis } from '../../platform/redis.js';
import { Projector, projectorSettings } from '../../query-service/projector/projector.js';
import { SagaWorker, sagaWorkerSettings } from '../../workers/saga/sagaWorker.js';
import { eventually, testDatabaseUrl, uniqueId } from '../support/env.js';
import { startTestSystem, type TestSystem } from '../support/system.js';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy.js';

describe('PostgreSQL gone for longer than five claim periods, under the consumers, while orders flow', function () {
  this.timeout(120_000);
  let system: TestSystem;
  let proxy: TcpProxy;
  let workersPool: Pool;
  const readers: Redis[] = [];
  let saga: SagaWorker;
  let projector: Projector;

  before(async () => {
    // The API and the relay keep their own connections; the saga worker and the projector reach
    // PostgreSQL through a proxy the test takes down (refused connections, cut ones: a restart).
    system = await startTestSystem({ startSagaWorker: false, startProjector: false });
    const url = new URL(testDatabaseUrl);
    proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
    url.port = String(proxy.port);
    workersPool = createPool({ databaseUrl: url.toString(), schema: system.schema, max: 10 });
    const reader = () => {
      const client = createRedis(system.config.redisUrl, uniqueId('outage-test'));
      readers.push(client);
      return client;
    };
    const fastRetries = { backoff: { baseMs: 200, maxMs: 2_000 } };
    saga = new SagaWorker({
      pool: workersPool,
      reader: reader(),
      commands: system.redis,
      psp: system.psp,
      logger: system.logger,
      ...sagaWorkerSettings(system.config),
      ...fastRetries,
    });
    projector = new Projector({
      pool: workersPool,
      reader: reader(),
      commands: system.redis,
      logger: system.logger,
      ...projectorSettings(system.config),
      ...fastRetries,
    });
    await saga.start();
    await projector.start();
  });
  after(async () => {
    await Promise.allSettled([saga.stop(), projector.stop()]);
    await proxy.up();
    await workersPool.end();
    await proxy.close();
    for (const client of readers) client.disconnect();
    await system.stop();
  });

  it('dead-letters nothing: every order is confirmed and every view catches up once PostgreSQL is back', async () => {
    const { skus } = await system.catalog({ prices: [400], stock: [[100]] });
    const orderIds: string[] = [];
    const place = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const res = await system.placeOrder(uniqueId('outage'), [{ sku: skus[0]!, quantity: 1 }]);
        expect(res.status).to.equal(202);
        orderIds.push(res.body.order_id as string);
      }
    };
    await place(5);
    await proxy.down();
    // 8 s without PostgreSQL: more than CONSUMER_MAX_DELIVERIES (5) × CONSUMER_CLAIM_IDLE_MS (1 s here).
    const outageEnds = Date.now() + 8_000;
    while (Date.now() < outageEnds) {
      await place(1);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await proxy.up();
    await place(5);

    await eventually(
      'every order confirmed',
      async () => {
        const r = await system.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM orders WHERE order_id = ANY($1::uuid[]) AND status = 'confirmed'`,
          [orderIds],
        );
        return r.rows[0]?.n === orderIds.length ? true : undefined;
      },
      60_000,
      200,
    );
    await eventually(
      'every view at its order version',
      async () => {
        const r = await system.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM orders o JOIN order_view v USING (order_id)
            WHERE o.order_id = ANY($1::uuid[]) AND v.version = o.version AND v.status = 'confirmed'`,
          [orderIds],
        );
        return r.rows[0]?.n === orderIds.length ? true : undefined;
      },
      60_000,
      200,
    );
    expect(await listDeadLetters(system.pool)).to.deep.equal([]);
    expect(await system.redis.keys(`${system.config.redisPrefix}:dead-letters:*`)).to.deep.equal([]);
    const confirmations = await system.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM order_events WHERE order_id = ANY($1::uuid[]) AND type = 'order.confirmed'`,
      [orderIds],
    );
    expect(confirmations.rows[0]?.n, 'one confirmation per order').to.equal(orderIds.length);
  });
});
