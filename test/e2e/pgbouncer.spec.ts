import { expect } from 'chai';
import type { InvoiceDocument } from '../../domain/invoice.js';
import { ensureDatabase, quoteIdent } from '../../platform/migrate.js';
import {
  eventually,
  testDatabaseUrl,
  testPool,
  testSandboxDatabaseUrl,
  testServiceDatabaseUrl,
  uniqueId,
} from '../support/env.js';
import { PGBOUNCER_SETTINGS, startPgBouncer, type RunningPgBouncer } from '../support/pgbouncer.js';
import { eventTypes, pspAuthorizations, startTestSystem, stockOf, type TestSystem } from '../support/system.js';

/**
 * The services behind PgBouncer in transaction pooling, as docker-compose.yml deploys them (the same
 * pool mode and ignored startup parameters, test/support/pgbouncer.ts; the same direct connections for
 * migrations, the sandboxes and the relay's LISTEN; decision 0017). PgBouncer is Debian's package
 * (scripts/ensure-test-tools.sh), run as a child process on a free port in front of a database of this
 * test's own, whose OMS schema is `public` as in compose. What keeps state in a session (SET, LISTEN,
 * session advisory locks, named prepared statements, temporary tables) would break here: a client's
 * next transaction may run on another server connection, and few server connections serve many clients.
 */

/** Few server connections for the services' 20-connection pool: transactions do move between them. */
const SERVER_POOL_SIZE = 4;

/** A URL of `base` with some parts changed. */
function urlOf(base: string, changes: { database?: string; host?: string; port?: number }): string {
  const url = new URL(base);
  if (changes.database !== undefined) url.pathname = `/${changes.database}`;
  if (changes.host !== undefined) url.hostname = changes.host;
  if (changes.port !== undefined) url.port = String(changes.port);
  return url.toString();
}

describe('the services behind PgBouncer in transaction pooling (docker compose, issue 14 item 6)', function () {
  this.timeout(120_000);
  const database = `${decodeURIComponent(new URL(testDatabaseUrl).pathname.slice(1))}_pgbouncer`;
  const serviceRole = decodeURIComponent(new URL(testServiceDatabaseUrl).username);
  const postgres = new URL(testDatabaseUrl);
  let bouncer: RunningPgBouncer | undefined;
  let system: TestSystem | undefined;
  const running = () => {
    if (system === undefined) throw new Error('the system did not start');
    return system;
  };

  before(async () => {
    // A database of its own, fresh each run: what compose's setup finds on a new volume.
    await testPool().query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
    await ensureDatabase(urlOf(testDatabaseUrl, { database }));
    bouncer = await startPgBouncer({
      alias: 'oms',
      server: { host: postgres.hostname, port: Number(postgres.port || '5432'), database },
      users: [serviceRole],
      poolSize: SERVER_POOL_SIZE,
    });
    system = await startTestSystem({
      fulfillment: {},
      schema: 'public',
      // The relay sleeps until the outbox's NOTIFY wakes it: a LISTEN lost to the pooler would stall it.
      relayPollMs: 20_000,
      env: {
        // Writes and reads through PgBouncer; what needs a session goes to PostgreSQL, as in compose.
        DATABASE_URL: urlOf(testServiceDatabaseUrl, { host: '127.0.0.1', port: bouncer.port, database: 'oms' }),
        LISTEN_DATABASE_URL: urlOf(testServiceDatabaseUrl, { database }),
        MIGRATION_DATABASE_URL: urlOf(testDatabaseUrl, { database }),
        SANDBOX_DATABASE_URL: urlOf(testSandboxDatabaseUrl, { database }),
        DB_PREPARED_STATEMENTS: 'false',
      },
    });
  });

  after(async () => {
    await system?.stop();
    await bouncer?.stop();
    await testPool().query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
  });

  it('reaches the OMS through PgBouncer in transaction pooling: the public schema, the service role, its statement_timeout', async () => {
    const system = running();
    const pools = await bouncer!.admin<{ database: string; user: string; pool_mode: string }>('SHOW POOLS');
    expect(pools.find((p) => p.database === 'oms')).to.include({ pool_mode: PGBOUNCER_SETTINGS.poolMode });
    // The services' pool reached the database through PgBouncer.
    const now = await system.pool.query<{ db: string; schema: string; who: string }>(
      'SELECT current_database() AS db, current_schema() AS schema, current_user AS who',
    );
    expect(now.rows[0]).to.deep.equal({ db: database, schema: 'public', who: serviceRole });
    // PgBouncer drops the statement_timeout startup parameter: the service role carries it instead.
    const timeout = await system.pool.query<{ statement_timeout: string }>('SHOW statement_timeout');
    expect(timeout.rows[0]?.statement_timeout).to.equal('30s');
    // The relay's LISTEN holds a backend of its own, not one of PgBouncer's server connections.
    const listening = await eventually('the relay listening', async () => {
      const rows = await system.ownerPool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'oms-relay-listen' AND query LIKE 'LISTEN %'`,
        [database],
      );
      return rows.rows.length === 1 ? rows.rows[0]!.pid : undefined;
    });
    const servers = await bouncer!.admin<{ remote_pid: number | string }>('SHOW SERVERS');
    expect(servers.map((s) => Number(s.remote_pid))).to.not.include(listening);
  });

  it('places an order of two warehouses and follows it to delivered: two shipments captured and invoiced', async () => {
    const system = running();
    const { placed, orderId } = await system.placeSplitOrder();
    expect(placed.status).to.equal(202);
    expect(await system.waitForStatus(orderId, ['delivered'], 60_000)).to.equal('delivered');
    await eventually('both shipments captured and invoiced', async () => {
      const row = await system.pool.query<{ captured: number; invoices: number }>(
        `SELECT (SELECT count(*)::int FROM captures WHERE order_id = $1 AND status = 'captured') AS captured,
                (SELECT count(*)::int FROM invoices WHERE order_id = $1) AS invoices`,
        [orderId],
      );
      return row.rows[0]?.captured === 2 && row.rows[0]?.invoices === 2 ? true : undefined;
    });
    const types = await eventTypes(system.pool, orderId);
    expect(types.filter((t) => t === 'shipment.delivered')).to.have.length(2);
    expect(types.filter((t) => t === 'order.confirmed')).to.have.length(1);
    const view = await system.get(`/api/v1/orders/${orderId}?min_version=${types.length}`);
    expect(view.status).to.equal(200);
    expect(view.body.status).to.equal('delivered');

    // A refund of one unit, with its credit note.
    const items = await system.pool.query<{ item_id: string }>(
      'SELECT item_id FROM order_items WHERE order_id = $1 ORDER BY line_no',
      [orderId],
    );
    const refund = await system.post(
      `/api/v1/orders/${orderId}/refunds`,
      { items: [{ item_id: items.rows[0]!.item_id, quantity: 1 }], reason: 'damaged' },
      { 'Idempotency-Key': uniqueId('refund') },
    );
    expect(refund.status).to.equal(202);
    const settled = await eventually(`refund ${refund.body.refund_id} settled`, async () => {
      const row = await system.pool.query<{ status: string }>('SELECT status FROM refunds WHERE refund_id = $1', [
        refund.body.refund_id,
      ]);
      return row.rows[0]?.status === 'pending' ? undefined : row.rows[0]?.status;
    });
    expect(settled).to.equal('succeeded');
    const documents = (await system.get(`/api/v1/orders/${orderId}/invoices`)).body.invoices as InvoiceDocument[];
    expect(documents.filter((d) => d.kind === 'credit_note').map((d) => d.total)).to.deep.equal([1500]);
  });

  it('cancels a processing order: the WMS cancels its shipment, stock comes back, the authorization is voided', async () => {
    const system = running();
    const { skus, warehouses } = await system.catalog({ prices: [800], stock: [[4]] });
    system.fulfillment!.wms!.setPace(60_000); // the shipment waits at the WMS
    try {
      const placed = await system.placeOrder(uniqueId('cust'), [{ sku: skus[0]!, quantity: 3 }]);
      const orderId = placed.body.order_id as string;
      expect(await system.waitForStatus(orderId, ['processing'])).to.equal('processing');
      const answer = await system.post(`/api/v1/orders/${orderId}/cancel`, { reason: 'changed my mind' });
      expect(answer.status).to.equal(202);
      expect(await system.waitForStatus(orderId, ['cancelled'], 30_000)).to.equal('cancelled');
      expect(await stockOf(system.pool, warehouses[0]!, skus[0]!)).to.deep.equal({ on_hand: 4, reserved: 0 });
      expect((await pspAuthorizations(system, placed.body.saga.saga_id)).map((a) => a.status)).to.deep.equal(['voided']);
      const shipments = await system.pool.query('SELECT status FROM shipments WHERE order_id = $1', [orderId]);
      expect(shipments.rows.map((s) => s.status)).to.deep.equal(['cancelled']);
      const types = await eventTypes(system.pool, orderId);
      expect(types.filter((t) => t === 'order.cancelled')).to.have.length(1);
    } finally {
      system.fulfillment!.wms!.setPace(50);
    }
  });

  it('served every service statement through PgBouncer: its transactions counted, its server connections bounded', async () => {
    const stats = await bouncer!.admin<{ database: string; total_xact_count: number | string }>('SHOW STATS');
    expect(Number(stats.find((s) => s.database === 'oms')?.total_xact_count)).to.be.greaterThan(100);
    const servers = await bouncer!.admin<{ database: string }>('SHOW SERVERS');
    expect(servers.filter((s) => s.database === 'oms').length).to.be.at.most(SERVER_POOL_SIZE);
    expect(bouncer!.log.join('')).not.to.match(/unsupported startup parameter|prepared statement/i);
  });
});
