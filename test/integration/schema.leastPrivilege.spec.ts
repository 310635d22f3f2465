import { expect } from 'chai';
import { migrations } from '../../db/migrations/index.js';
import { loadConfig } from '../../platform/config.js';
import { accessFromConfig, roleOf } from '../../platform/databaseRoles.js';
import { createPool, type Pool } from '../../platform/db.js';
import { PgDeadLetters, DeadLetterTransport } from '../../platform/deadLetters.js';
import { uuidv7 } from '../../platform/ids.js';
import { createLogger } from '../../platform/logger.js';
import { migrateLatest, quoteIdent } from '../../platform/migrate.js';
import { ensurePspSchema } from '../../simulators/psp/store.js';
import { testDatabaseUrl, testSandboxDatabaseUrl, testServiceDatabaseUrl, uniqueId } from '../support/env.js';

/** What PostgreSQL answered: its SQLSTATE and message, or 'ok'. */
async function attempt(pool: Pool, sql: string, values: unknown[] = []): Promise<string> {
  try {
    await pool.query(sql, values);
    return 'ok';
  } catch (error) {
    return `${(error as { code?: string }).code}: ${(error as Error).message}`;
  }
}

describe('least privilege in PostgreSQL (decision 0015)', () => {
  const schema = uniqueId('roles')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  const pspSchema = `${schema}_psp`;
  const legacySchema = `${schema}_legacy`;
  const service = roleOf(testServiceDatabaseUrl)!;
  const sandbox = roleOf(testSandboxDatabaseUrl)!;
  const access = { service, sandbox, sandboxSchemas: [legacySchema] };
  let owner: Pool;
  let asService: Pool;
  let asSandbox: Pool;
  let sandboxOwn: Pool;

  before(async () => {
    owner = createPool({ databaseUrl: testDatabaseUrl, schema, max: 2 });
    // A sandbox schema an earlier single-role setup created as the owner: the grants step hands it over.
    await owner.query(`CREATE SCHEMA ${quoteIdent(legacySchema)}; CREATE TABLE ${quoteIdent(legacySchema)}.ledger (id int)`);
    const first = await migrateLatest({ databaseUrl: testDatabaseUrl, schema, access });
    expect(first.applied).to.deep.equal(migrations.map(([name]) => name));
    asService = createPool({ databaseUrl: testServiceDatabaseUrl, schema, max: 2 });
    asSandbox = createPool({ databaseUrl: testSandboxDatabaseUrl, schema, max: 2 });
    sandboxOwn = createPool({ databaseUrl: testSandboxDatabaseUrl, schema: pspSchema, max: 2 });
    await ensurePspSchema(sandboxOwn, pspSchema);
  });

  after(async () => {
    await Promise.allSettled([asService?.end(), asSandbox?.end(), sandboxOwn?.end()]);
    for (const s of [schema, pspSchema, legacySchema]) await owner.query(`DROP SCHEMA IF EXISTS ${quoteIdent(s)} CASCADE`);
    await owner.end();
  });

  it('lets the service role append to order_events and refuses it UPDATE, DELETE and TRUNCATE', async () => {
    const orderId = uuidv7();
    const insert = `INSERT INTO order_events (event_id, order_id, seq, type, payload) VALUES ($1, $2, 1, 'test.happened', '{"n":1}')`;
    expect(await attempt(asService, insert, [uuidv7(), orderId])).to.equal('ok');
    // Refused by the grants, before the append-only trigger is reached (its message says "append-only").
    for (const statement of [
      `UPDATE order_events SET payload = '{"n":2}' WHERE order_id = '${orderId}'`,
      `DELETE FROM order_events WHERE order_id = '${orderId}'`,
      'TRUNCATE order_events',
    ]) {
      expect(await attempt(asService, statement), statement).to.equal('42501: permission denied for table order_events');
    }
    // Nor by naming a month's partition (migration 0018): the revokes reach every partition, those made
    // by the migration and those ensure_order_partitions makes later.
    await asService.query(`SELECT ensure_order_partitions('2092-03-01', 1)`);
    for (const partition of ['order_events_default', 'order_events_y2092m03']) {
      for (const statement of [`UPDATE ${partition} SET seq = seq`, `DELETE FROM ${partition}`, `TRUNCATE ${partition}`])
        expect(await attempt(asService, statement), statement).to.equal(`42501: permission denied for table ${partition}`);
    }
    // Nor can it take the trigger away, or the table.
    for (const statement of [
      'ALTER TABLE order_events DISABLE TRIGGER order_events_append_only',
      'DROP TABLE order_events',
      'CREATE TABLE escape_hatch (id int)',
    ]) {
      expect(await attempt(asService, statement), statement).to.match(/^42501: (must be owner|permission denied)/);
    }
    const rows = await owner.query('SELECT seq, payload FROM order_events WHERE order_id = $1', [orderId]);
    expect(rows.rows).to.deep.equal([{ seq: 1, payload: { n: 1 } }]);
  });

  it('lets the service role write every other table, and keep order partitions ahead through the owner', async () => {
    expect(await attempt(asService, `UPDATE relay_wakeup SET listening = listening`)).to.equal('ok');
    expect(await attempt(asService, `DELETE FROM outbox WHERE id = $1`, [uuidv7()])).to.equal('ok');
    expect(await attempt(asService, 'SELECT * FROM knex_migrations')).to.match(/^42501: permission denied/);
    // A month far ahead: created by ensure_order_partitions, which runs as its owner.
    const created = await asService.query<{ n: number }>(`SELECT ensure_order_partitions('2091-01-01', 1) AS n`);
    expect(created.rows[0]?.n).to.equal(1);
    const partition = await owner.query<{ owner: string }>(
      `SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = to_regclass($1)`,
      [`${quoteIdent(schema)}.orders_y2091m01`],
    );
    expect(partition.rows[0]?.owner).to.equal(roleOf(testDatabaseUrl)?.name);
    // A table the owner creates later (a rebuilt read model) is the service's to use at once.
    await owner.query('CREATE TABLE later_table (id int)');
    expect(await attempt(asService, 'INSERT INTO later_table VALUES (1)')).to.equal('ok');
  });

  it("keeps the sandbox's schema out of the service role's reach, and the OMS schema out of the sandbox's", async () => {
    expect(await attempt(sandboxOwn, 'SELECT count(*) FROM authorizations')).to.equal('ok');
    const pspTable = `${quoteIdent(pspSchema)}.authorizations`;
    expect(await attempt(asService, `SELECT count(*) FROM ${pspTable}`)).to.equal(
      `42501: permission denied for schema ${pspSchema}`,
    );
    expect(await attempt(asService, `DELETE FROM ${pspTable}`)).to.match(/^42501: permission denied/);
    expect(await attempt(asService, `CREATE TABLE ${quoteIdent(pspSchema)}.intruder (id int)`)).to.match(/^42501/);

    expect(await attempt(asSandbox, 'SELECT count(*) FROM orders')).to.equal('42501: permission denied for table orders');
    expect(
      await attempt(
        asSandbox,
        `INSERT INTO order_events (event_id, order_id, seq, type, payload) VALUES ($1, $1, 1, 'x', '{}')`,
        [uuidv7()],
      ),
    ).to.match(/^42501/);
    // The one table it writes: the WMS sandbox runs our Kafka consumer, whose dead letters go there.
    const letter = await new PgDeadLetters(asSandbox, createLogger('test', 'silent')).record({
      source: 'test-wms',
      transport: DeadLetterTransport.kafka,
      stream: 'test-topic',
      entryId: '0:1',
      message: { value: 'x' },
      error: 'test',
      attempts: 1,
    });
    expect(letter.source).to.equal('test-wms');
  });

  it('hands a sandbox schema created by the owner to the sandbox role, and runs again as a no-op', async () => {
    const owners = async () =>
      (
        await owner.query<{ schema: string; ledger: string }>(
          `SELECT pg_get_userbyid(n.nspowner) AS schema, pg_get_userbyid(c.relowner) AS ledger
             FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = 'ledger' WHERE n.nspname = $1`,
          [legacySchema],
        )
      ).rows[0];
    expect(await owners()).to.deep.equal({ schema: sandbox.name, ledger: sandbox.name });
    const again = await migrateLatest({ databaseUrl: testDatabaseUrl, schema, access });
    expect(again.applied).to.deep.equal([]);
    expect(again.accessNotes).to.deep.equal([]);
    expect(await attempt(asService, 'UPDATE order_events SET seq = seq')).to.match(/^42501: permission denied/);
  });

  it('derives the roles from the URLs: least privilege by default, one role when only DATABASE_URL is set', () => {
    const defaults = loadConfig({});
    expect(roleOf(defaults.migrationDatabaseUrl)?.name).to.equal('postgres');
    expect(accessFromConfig(defaults)).to.deep.include({ service: { name: 'oms_service' }, sandbox: { name: 'oms_sandbox' } });
    const single = accessFromConfig(loadConfig({ DATABASE_URL: 'postgres://app:secret@db:5432/oms' }));
    expect(single.service).to.equal(undefined);
    expect(single.sandbox).to.equal(undefined);
    const split = accessFromConfig(
      loadConfig({
        DATABASE_URL: 'postgres://oms_svc:s3cr%40t@db/oms',
        MIGRATION_DATABASE_URL: 'postgres://oms_owner:o@db/oms',
      }),
    );
    expect(split.service).to.deep.equal({ name: 'oms_svc', password: 's3cr@t' });
    // Without SANDBOX_DATABASE_URL the sandboxes run as the owner here: no role of their own.
    expect(split.sandbox).to.equal(undefined);
    expect(loadConfig({ MIGRATION_DATABASE_URL: 'postgres://oms_owner@db/oms' }).sandboxDatabaseUrl).to.equal(
      'postgres://oms_owner@db/oms',
    );
  });
});
