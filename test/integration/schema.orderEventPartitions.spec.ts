import { expect } from 'chai';
import pg from 'pg';
import { migrations } from '../../db/migrations/index.js';
import { monthOf, partitionsOf } from '../../domain/archiveMonths.js';
import { createPool, withTransaction, type Pool } from '../../platform/db.js';
import { createUuidv7Generator, uuidv7 } from '../../platform/ids.js';
import { createKnex, migrateLatest, quoteIdent } from '../../platform/migrate.js';
import { main as audit } from '../../scripts/audit.js';
import { appendToOrder, appendToOrders } from '../../store/eventStore.js';
import { testDatabaseUrl, uniqueId, dropSchemas } from '../support/env.js';
import { untypedEvent } from '../support/untypedEvent.js';

/**
 * Migration 0018 on a log written under 0017: every row and hash kept as it was (a tampered event stays
 * visibly tampered), events placed in their order's month, and appends by concurrent writers chaining
 * as before. Own schema, migrated step by step.
 */
describe('order_events partitioned by month of its order (migration 0018)', function () {
  this.timeout(120_000);
  const schema = uniqueId('evpart')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  let pool: Pool;
  const ids = createUuidv7Generator();
  const quiet = () => undefined;

  before(async () => {
    const admin = new pg.Client({ connectionString: testDatabaseUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    await admin.end();
    const knex = createKnex({ databaseUrl: testDatabaseUrl, schema });
    try {
      const before0018 = migrations.findIndex(([name]) => name === '0018_order_event_partitions');
      for (let i = 0; i < before0018; i++) await knex.migrate.up();
    } finally {
      await knex.destroy();
    }
    pool = createPool({ databaseUrl: testDatabaseUrl, schema, max: 8 });
  });

  after(async () => {
    await pool.end();
    await dropSchemas(schema);
  });

  async function order(at?: number): Promise<string> {
    const orderId = at === undefined ? ids() : createUuidv7Generator()(at);
    await pool.query(
      `INSERT INTO orders (order_id, customer_id, channel, status, version, total_amount, currency, shipping_address, payment_method, created_at)
       VALUES ($1, 'partitions', 'web', 'placed', 0, 100, 'USD', '{}', '{"type":"card"}', uuid7_time($1))`,
      [orderId],
    );
    return orderId;
  }

  const rows = async () =>
    (
      await pool.query<{ row: string }>(
        `SELECT concat_ws(':', event_id, order_id, seq, type, payload::text, occurred_at, encode(prev_hash, 'hex'), encode(hash, 'hex')) AS row
           FROM order_events ORDER BY order_id, seq`,
      )
    ).rows.map((r) => r.row);

  it('keeps every row and hash through the migration, a tampered event still named, and places events in their month', async () => {
    const current = [await order(), await order(), await order()];
    const old = await order(Date.UTC(2001, 0, 1));
    // Written as the code of 0017 wrote them (the event store of today also writes 0019's metadata).
    for (const orderId of [...current, old]) {
      for (const [seq, type] of ['test.one', 'test.two', 'test.three'].entries())
        await pool.query(`INSERT INTO order_events (event_id, order_id, seq, type, payload) VALUES ($1, $2, $3, $4, $5)`, [
          ids(),
          orderId,
          seq + 1,
          type,
          { n: seq + 1 },
        ]);
    }
    const tampered = current[1]!;
    await withTransaction(pool, async (tx) => {
      await tx.query('ALTER TABLE order_events DISABLE TRIGGER order_events_append_only');
      await tx.query(`UPDATE order_events SET payload = '{"n": 99}' WHERE order_id = $1 AND seq = 2`, [tampered]);
      await tx.query('ALTER TABLE order_events ENABLE TRIGGER order_events_append_only');
    });
    const before = await rows();

    const result = await migrateLatest({ databaseUrl: testDatabaseUrl, schema });
    expect(result.applied).to.deep.equal(['0018_order_event_partitions', '0019_event_metadata']);

    expect(await rows()).to.deep.equal(before);
    const said: string[] = [];
    expect(await audit(['verify'], (l) => said.push(l), pool)).to.equal(1);
    expect(said.filter((l) => l.startsWith('BROKEN'))).to.deep.equal([
      `BROKEN order ${tampered} seq 2 (event ${(await pool.query<{ id: string }>('SELECT event_id AS id FROM order_events WHERE order_id = $1 AND seq = 2', [tampered])).rows[0]?.id}): altered — its content no longer matches its hash (type, payload, time, seq or ids changed)`,
    ]);

    const { rows: placed } = await pool.query<{ order_id: string; partition: string }>(
      'SELECT DISTINCT order_id, tableoid::regclass::text AS partition FROM order_events',
    );
    const partitionOf = new Map(placed.map((r) => [r.order_id, r.partition]));
    for (const orderId of current) expect(partitionOf.get(orderId)).to.equal(partitionsOf(monthOf(new Date())).events);
    expect(partitionOf.get(old)).to.equal('order_events_default');
    const { rows: key } = await pool.query<{ def: string }>(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'order_events'::regclass AND contype = 'p'`,
    );
    expect(key[0]?.def).to.equal('PRIMARY KEY (order_id, seq)');
  });

  it('chains events appended concurrently by several writers, and refuses a second event with the same seq', async () => {
    const orders = [await order(), await order()];
    await Promise.all(
      Array.from({ length: 6 }, (_, writer) =>
        (async () => {
          for (let i = 0; i < 8; i++) {
            const orderId = orders[(writer + i) % 2]!;
            if (i % 2 === 0)
              await withTransaction(pool, (tx) => appendToOrder(tx, orderId, [untypedEvent('test.single', { writer, i })]));
            else
              await withTransaction(pool, (tx) =>
                appendToOrders(tx, [
                  { orderId: orders[0]!, events: [untypedEvent('test.batched', { writer, i })] },
                  { orderId: orders[1]!, events: [untypedEvent('test.batched', { writer, i })] },
                ]),
              );
          }
        })(),
      ),
    );
    for (const orderId of orders) {
      const { rows: seqs } = await pool.query<{ seq: number }>('SELECT seq FROM order_events WHERE order_id = $1 ORDER BY seq', [
        orderId,
      ]);
      expect(seqs.map((r) => r.seq)).to.deep.equal(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(await audit(['verify', '--order', orderId], quiet, pool)).to.equal(0);
    }
    // A month made later by ensure_order_partitions chains its events too (each partition has its own chain trigger).
    await pool.query(`SELECT ensure_order_partitions('2093-01-01', 1)`);
    const later = await order(Date.UTC(2093, 0, 15));
    await withTransaction(pool, (tx) => appendToOrder(tx, later, [untypedEvent('test.a', {}), untypedEvent('test.b', {})]));
    const { rows: chained } = await pool.query<{ partition: string; linked: boolean }>(
      `SELECT tableoid::regclass::text AS partition, bool_and(seq = 1 OR prev_hash IS NOT NULL) AS linked FROM order_events WHERE order_id = $1 GROUP BY 1`,
      [later],
    );
    expect(chained).to.deep.equal([{ partition: 'order_events_y2093m01', linked: true }]);
    expect(await audit(['verify', '--order', later], quiet, pool)).to.equal(0);

    const duplicate = await pool
      .query(`INSERT INTO order_events (event_id, order_id, seq, type, payload) VALUES ($1, $2, 1, 'test.again', '{}')`, [
        uuidv7(),
        orders[0],
      ])
      .then(
        () => 'inserted',
        (error: { code?: string }) => error.code,
      );
    expect(duplicate).to.equal('23505');
  });
});
