import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { monthOf, parseMonth, uuid7Floor, type ArchiveManifest, type Month } from '../../domain/archiveMonths.js';
import { createPool, withTransaction, type Pool } from '../../platform/db.js';
import { createUuidv7Generator, uuidv7 } from '../../platform/ids.js';
import { migrateLatest } from '../../platform/migrate.js';
import { main as archive } from '../../scripts/archive.js';
import { main as audit } from '../../scripts/audit.js';
import { ARCHIVED_TABLES, digestMonthRows } from '../../store/archive.js';
import { appendToOrder, appendToOrders } from '../../store/eventStore.js';
import { eventually, testConfig, testDatabaseUrl, uniqueId, dropSchemas } from '../support/env.js';
import { untypedEvent } from '../support/untypedEvent.js';

const MARCH = parseMonth('2019-03') as Month;
const APRIL = parseMonth('2019-04') as Month;

/**
 * Given a month of orders with every per-order row and a chained history, when it is archived (while
 * other orders take events) and restored, then every table's rows and every event hash are as before,
 * and the audit's verify passes. Own schema: the months are this test's alone.
 */
describe('archive and restore a month (npm run archive, store/archive)', function () {
  this.timeout(120_000);
  const schema = uniqueId('arch')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  let pool: Pool;
  let dir: string;
  const config = testConfig({ DATABASE_SCHEMA: schema });
  const ids = createUuidv7Generator();
  const quiet = () => undefined;
  const sku = uniqueId('sku');
  const warehouse = uniqueId('wh');

  before(async () => {
    await migrateLatest({ databaseUrl: testDatabaseUrl, schema });
    pool = createPool({ databaseUrl: testDatabaseUrl, schema, max: 6 });
    dir = await mkdtemp(join(tmpdir(), 'oms-archive-'));
    await pool.query(`SELECT ensure_order_partitions('2019-03-01', 2)`);
    await pool.query(`INSERT INTO products (sku, name, price, currency) VALUES ($1, 'Archived thing', 500, 'USD')`, [sku]);
    await pool.query(
      `INSERT INTO warehouses (warehouse_id, name, lat, lon, capacity_per_day) VALUES ($1, 'W', 52.52, 13.405, 100)`,
      [warehouse],
    );
    await pool.query(`INSERT INTO inventory (warehouse_id, sku, on_hand) VALUES ($1, $2, 1000)`, [warehouse, sku]);
  });

  after(async () => {
    await pool.end();
    await rm(dir, { recursive: true, force: true });
    await dropSchemas(schema);
  });

  /** An order placed at `at` with items, saga, payment, shipment, reservation, capture, refund, invoice, view and events. */
  async function orderWithEverything(at: number): Promise<string> {
    // A generator of its own: the shared one never goes back in time after drawing ids of today.
    const orderId = createUuidv7Generator()(at);
    const [item, saga, payment, shipment, capture, refund] = [uuidv7(), uuidv7(), uuidv7(), uuidv7(), uuidv7(), uuidv7()];
    await withTransaction(pool, async (tx) => {
      await tx.query(
        `INSERT INTO orders (order_id, customer_id, channel, external_order_id, status, version, total_amount, currency, shipping_address, payment_method, created_at)
         VALUES ($1, 'archived-customer', 'web', $2, 'delivered', 0, 1000, 'USD', '{"city":"Berlin","lines":["Straße 1"]}', '{"type":"card"}', uuid7_time($1))`,
        [orderId, `ext-${orderId}`],
      );
      await tx.query(`INSERT INTO order_external_refs (channel, external_order_id, order_id) VALUES ('web', $1, $2)`, [
        `ext-${orderId}`,
        orderId,
      ]);
      await tx.query(
        `INSERT INTO order_items (item_id, order_id, order_created_at, line_no, sku, quantity, unit_price, quantity_shipped)
         VALUES ($1, $2, uuid7_time($2), 1, $3, 2, 500, 2)`,
        [item, orderId, sku],
      );
      await tx.query(
        `INSERT INTO sagas (saga_id, order_id, current_step, status, step_results) VALUES ($1, $2, 'confirm_order', 'completed', '{"n": 1.5}')`,
        [saga, orderId],
      );
      await tx.query(
        `INSERT INTO payments (payment_id, order_id, method, currency, amount, amount_captured, amount_refunded, status)
         VALUES ($1, $2, 'card', 'USD', 1000, 1000, 100, 'captured')`,
        [payment, orderId],
      );
      await tx.query(`INSERT INTO shipments (shipment_id, order_id, warehouse_id, status) VALUES ($1, $2, $3, 'delivered')`, [
        shipment,
        orderId,
        warehouse,
      ]);
      await tx.query(`INSERT INTO shipment_items (shipment_id, item_id, sku, quantity) VALUES ($1, $2, $3, 2)`, [
        shipment,
        item,
        sku,
      ]);
      await tx.query(
        `INSERT INTO reservations (reservation_id, order_id, item_id, warehouse_id, sku, quantity, status) VALUES ($1, $2, $3, $4, $5, 2, 'consumed')`,
        [uuidv7(), orderId, item, warehouse, sku],
      );
      await tx.query(
        `INSERT INTO captures (capture_id, order_id, payment_id, shipment_id, amount, currency, status) VALUES ($1, $2, $3, $4, 1000, 'USD', 'captured')`,
        [capture, orderId, payment, shipment],
      );
      await tx.query(
        `INSERT INTO refunds (refund_id, order_id, saga_id, payment_id, amount, currency, reason, status) VALUES ($1, $2, $3, $4, 100, 'USD', 'dented', 'succeeded')`,
        [refund, orderId, saga, payment],
      );
      await tx.query(
        `INSERT INTO invoices (invoice_id, number, year, seq, order_id, currency, total, document, issued_at, capture_id)
         VALUES ($1, $2, 2019, $3, $4, 'USD', 1000, '{"lines": []}', uuid7_time($4), $5)`,
        [uuidv7(), `INV-${orderId}`, Math.floor(Math.random() * 1e9) + 1, orderId, capture],
      );
      await tx.query(
        `INSERT INTO order_view (order_id, version, status, customer_id, created_at, updated_at, doc)
         VALUES ($1, 4, 'delivered', 'archived-customer', uuid7_time($1), uuid7_time($1), jsonb_build_object('order_id', $1::text))`,
        [orderId],
      );
    });
    await withTransaction(pool, (tx) =>
      appendToOrders(tx, [{ orderId, events: [untypedEvent('test.placed', { n: 1, text: 'é 東京' })] }], new Date(at)),
    );
    await withTransaction(pool, (tx) =>
      appendToOrder(tx, orderId, [untypedEvent('test.shipped', { n: 2 }), untypedEvent('test.delivered', { n: 3.25 })], {
        occurredAt: new Date(at + 86_400_000),
      }),
    );
    await withTransaction(pool, (tx) => appendToOrder(tx, orderId, [untypedEvent('test.refunded', { amount: 100 })]));
    return orderId;
  }

  async function monthDigests(month: Month): Promise<Map<string, { rows: number; contentSha256: string }>> {
    const digests = new Map<string, { rows: number; contentSha256: string }>();
    await withTransaction(pool, async (tx) => {
      await tx.query("SET LOCAL TIME ZONE 'UTC'");
      for (const spec of ARCHIVED_TABLES) digests.set(spec.table, await digestMonthRows(tx, spec, month));
    });
    return digests;
  }

  const eventRows = async (month: Month) =>
    (
      await pool.query<{ row: string }>(
        `SELECT order_id || ':' || seq || ':' || encode(prev_hash, 'hex') || ':' || encode(hash, 'hex') || ':' || tableoid::regclass AS row
           FROM order_events WHERE uuid7_time(order_id) >= $1::timestamptz AND uuid7_time(order_id) < $1::timestamptz + interval '1 month'
          ORDER BY order_id, seq`,
        [`${month}-01T00:00:00Z`],
      )
    ).rows.map((r) => r.row);

  it('archives a month while other orders take events, and restores it identical: rows, hashes and chains', async () => {
    const march: string[] = [];
    for (let i = 0; i < 12; i++) march.push(await orderWithEverything(Date.UTC(2019, 2, 1 + i * 2, 10, i)));
    const april = await orderWithEverything(Date.UTC(2019, 3, 2));
    const before = await monthDigests(MARCH);
    const aprilBefore = await monthDigests(APRIL);
    const eventsBefore = await eventRows(MARCH);
    expect(before.get('orders')?.rows).to.equal(12);
    expect(before.get('order_events')?.rows).to.equal(48);
    for (const spec of ARCHIVED_TABLES) expect(before.get(spec.table)?.rows, spec.table).to.be.greaterThan(0);

    expect(await audit(['anchor', '--day', '2019-03-01'], quiet, pool)).to.equal(0);

    // Orders of this month keep taking events while the archive runs.
    const current = [ids(), ids(), ids()];
    for (const orderId of current)
      await pool.query(
        `INSERT INTO orders (order_id, customer_id, channel, status, version, total_amount, currency, shipping_address, payment_method, created_at)
         VALUES ($1, 'flowing', 'web', 'placed', 0, 100, 'USD', '{}', '{"type":"card"}', uuid7_time($1))`,
        [orderId],
      );
    let appended = 0;
    let stop = false;
    let failed: unknown;
    const writer = (async () => {
      while (!stop && failed === undefined) {
        await withTransaction(pool, (tx) =>
          appendToOrders(
            tx,
            current.map((orderId) => ({ orderId, events: [untypedEvent('test.flowing', { n: appended })] })),
          ),
        );
        appended++;
      }
    })().catch((error: unknown) => {
      failed = error;
    });
    const appendsReach = (count: number) => async () => {
      if (failed !== undefined) throw new Error(`the writer failed: ${String(failed)}`);
      return appended >= count ? true : undefined;
    };
    await eventually('appends flowing', appendsReach(3));

    const said: string[] = [];
    expect(await archive(['--before', '2019-04', '--dir', dir], (l) => said.push(l), { pool, config })).to.equal(0);
    const appendedDuringArchive = appended;
    await eventually('appends after the archive', appendsReach(appendedDuringArchive + 3));
    stop = true;
    await writer;
    expect(failed).to.equal(undefined);
    expect(said.join('\n')).to.match(/2019-03: archived to .* 12 orders, 48 events/);

    // Gone from the database, recorded as archived, in files with a manifest; April untouched.
    const { rows: left } = await pool.query<{ orders: string | null; events: string | null }>(
      `SELECT to_regclass('orders_y2019m03')::text AS orders, to_regclass('order_events_y2019m03')::text AS events`,
    );
    expect(left[0]).to.deep.equal({ orders: null, events: null });
    await withTransaction(pool, async (tx) => {
      for (const spec of ARCHIVED_TABLES.slice(2)) expect((await digestMonthRows(tx, spec, MARCH)).rows, spec.table).to.equal(0);
    });
    expect(await eventRows(MARCH)).to.deep.equal([]);
    expect(await monthDigests(APRIL)).to.deep.equal(aprilBefore);
    expect((await pool.query(`SELECT 1 FROM archived_months WHERE month = '2019-03-01'`)).rowCount).to.equal(1);
    const manifest = JSON.parse(await readFile(join(dir, '2019-03', 'manifest.json'), 'utf8')) as ArchiveManifest;
    expect(manifest).to.deep.include({ format: 'oms-archive/1', month: '2019-03', keepUntil: '2026-04-01' });
    expect(manifest.chain).to.include({ orders: 12, events: 48 });
    expect(Object.fromEntries(manifest.tables.map((t) => [t.table, t.rows]))).to.deep.equal(
      Object.fromEntries([...before].map(([table, d]) => [table, d.rows])),
    );
    expect(await archive(['verify', '2019-03', '--dir', dir], quiet, { pool, config })).to.equal(0);
    // The day's anchor cannot be recomputed while its events are archived: said so, not called a difference.
    const anchors: string[] = [];
    expect(await audit(['anchors'], (l) => anchors.push(l), pool)).to.equal(0);
    expect(anchors.join('\n')).to.match(/2019-03-01: .* partly archived in 2019-03 \(\d+ events\)/);

    // Back again: every row and every hash as it was, and the chains verify.
    expect(await archive(['restore', '2019-03', '--dir', dir], quiet, { pool, config })).to.equal(0);
    expect(await monthDigests(MARCH)).to.deep.equal(before);
    expect(await eventRows(MARCH)).to.deep.equal(eventsBefore);
    expect((await pool.query(`SELECT 1 FROM archived_months`)).rowCount).to.equal(0);
    const verified: string[] = [];
    expect(await audit(['verify'], (l) => verified.push(l), pool)).to.equal(0);
    expect(verified.join('\n')).to.match(/every chain intact: 16 orders/);
    anchors.length = 0;
    expect(await audit(['anchors'], (l) => anchors.push(l), pool)).to.equal(0);
    expect(anchors.join('\n')).to.match(/2019-03-01: .* holds/);

    // The restored partition is the log again: a new event chains onto the restored head.
    await withTransaction(pool, (tx) => appendToOrder(tx, march[0]!, [untypedEvent('test.after_restore', {})]));
    expect(await audit(['verify', '--order', march[0]!], quiet, pool)).to.equal(0);
    expect(await audit(['verify', '--order', april], quiet, pool)).to.equal(0);
  });

  it('archives and restores a month that never had partitions (its rows in the default partitions), into partitions of its own', async () => {
    const july = parseMonth('2018-07') as Month;
    for (let i = 0; i < 3; i++) await orderWithEverything(Date.UTC(2018, 6, 3 + i));
    const where = async () =>
      (
        await pool.query<{ t: string }>(
          `SELECT DISTINCT tableoid::regclass::text AS t FROM order_events WHERE order_id >= $1 AND order_id < $2 ORDER BY 1`,
          [uuid7Floor(new Date(Date.UTC(2018, 6, 1))), uuid7Floor(new Date(Date.UTC(2018, 7, 1)))],
        )
      ).rows.map((r) => r.t);
    expect(await where()).to.deep.equal(['order_events_default']);
    const before = await monthDigests(july);
    expect(before.get('orders')?.rows).to.equal(3);

    expect(await archive(['--before', '2018-08', '--dir', dir], quiet, { pool, config })).to.equal(0);
    await withTransaction(pool, async (tx) => {
      for (const spec of ARCHIVED_TABLES) expect((await digestMonthRows(tx, spec, july)).rows, spec.table).to.equal(0);
    });
    expect(await archive(['restore', '2018-07', '--dir', dir], quiet, { pool, config })).to.equal(0);
    expect(await monthDigests(july)).to.deep.equal(before);
    expect(await where()).to.deep.equal(['order_events_y2018m07']);
    expect(await audit(['verify'], quiet, pool)).to.equal(0);
  });

  it('refuses to archive inside the retention window, and a damaged file is caught before anything is restored', async () => {
    const now = new Date();
    const hot = monthOf(now);
    expect(await archive(['--before', hot, '--dir', dir], quiet, { pool, config })).to.equal(2);

    await orderWithEverything(Date.UTC(2019, 3, 20));
    expect(await archive(['--before', '2019-05', '--dir', dir], quiet, { pool, config })).to.equal(0);
    expect(JSON.parse(await readFile(join(dir, '2019-04', 'manifest.json'), 'utf8'))).to.have.nested.property('chain.orders', 2);
    expect(existsSync(join(dir, '2019-04', 'manifest.json'))).to.equal(true);
    const file = join(dir, '2019-04', 'orders.jsonl.gz');
    await writeFile(file, gzipSync('{"order_id": "not the archived row"}\n'));
    const said: string[] = [];
    expect(await archive(['restore', '2019-04', '--dir', dir], (l) => said.push(l), { pool, config })).to.equal(1);
    expect(said.join('\n')).to.match(/orders: 1 rows, the manifest says 2|orders.jsonl.gz: file SHA-256/);
    expect((await pool.query(`SELECT 1 FROM archived_months WHERE month = '2019-04-01'`)).rowCount).to.equal(1);
    expect((await pool.query(`SELECT to_regclass('orders_y2019m04') AS t`)).rows[0]?.t).to.equal(null);
  });
});
