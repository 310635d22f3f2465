import { migrations } from '../../db/migrations/index.js';
import { expect } from 'chai';
import { createPool, type Pool } from '../../platform/db.js';
import { migrateLatest, quoteIdent } from '../../platform/migrate.js';
import { testDatabaseUrl, uniqueId, dropSchemas } from '../support/env.js';

describe('schema migrations (own schema)', () => {
  const schema = uniqueId('mig')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  let pool: Pool;

  before(() => {
    pool = createPool({ databaseUrl: testDatabaseUrl, schema, max: 2 });
  });

  after(async () => {
    await pool.end();
    await dropSchemas(schema);
  });

  it('migrates a fresh schema, and a second run is a no-op', async () => {
    const first = await migrateLatest({ databaseUrl: testDatabaseUrl, schema });
    expect(first.applied).to.deep.equal(migrations.map(([name]) => name));
    expect(first.applied[0]).to.equal('0001_core');
    const tablesAfterFirst = await pool.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1`, [schema]);

    const second = await migrateLatest({ databaseUrl: testDatabaseUrl, schema });
    expect(second.applied).to.deep.equal([]);
    expect(second.partitionsCreated).to.equal(0);
    const tablesAfterSecond = await pool.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1`, [schema]);
    expect(tablesAfterSecond.rows[0].n).to.equal(tablesAfterFirst.rows[0].n);
  });

  it('runs safely when two processes migrate at once', async () => {
    const other = `${schema}_b`;
    try {
      const results = await Promise.all([
        migrateLatest({ databaseUrl: testDatabaseUrl, schema: other }),
        migrateLatest({ databaseUrl: testDatabaseUrl, schema: other }),
      ]);
      expect(results.map((r) => r.applied.length).sort()).to.deep.equal([0, migrations.length]);
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(other)} CASCADE`);
    }
  });

  it('keeps monthly order partitions ahead of today, plus a default partition', async () => {
    const result = await pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
         JOIN pg_namespace n ON n.oid = p.relnamespace
        WHERE p.relname = 'orders' AND n.nspname = $1`,
      [schema],
    );
    const names = result.rows.map((r) => r.name);
    const month = (offset: number) => {
      const d = new Date();
      d.setUTCDate(1);
      d.setUTCMonth(d.getUTCMonth() + offset);
      return `orders_y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
    };
    expect(names).to.include.members(['orders_default', month(0), month(1), month(2), month(3)]);
  });
});
