import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { migrations } from '../db/migrations/index.js';
import { applyDatabaseAccess, type DatabaseAccess } from './databaseRoles.js';
import { ensureOrderPartitions } from './orderPartitions.js';

const migrationSource: Knex.MigrationSource<readonly [string, Knex.Migration]> = {
  getMigrations: async () => [...migrations],
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};

export interface MigrateOptions {
  /** The owner's connection (MIGRATION_DATABASE_URL): the schema's objects belong to this role. */
  readonly databaseUrl: string;
  readonly schema: string;
  readonly partitionsAheadMonths?: number;
  /** The service and sandbox roles to create if missing and grant to after migrating (decision 0015). */
  readonly access?: DatabaseAccess;
}

export interface MigrateResult {
  readonly applied: readonly string[];
  readonly partitionsCreated: number;
  /** What the grants step has to say (roles created, services running as the owner). */
  readonly accessNotes: readonly string[];
}

// Any constant shared by every process of this system: two of them migrating at once take turns.
const MIGRATION_LOCK = 7_402_117;

/**
 * Brings the schema to the latest migration, makes sure monthly order partitions exist ahead, then
 * grants the service and sandbox roles what they need (when `access` names them). Safe when several processes start at once (a session advisory lock serializes them) and a no-op
 * when run again.
 */
export async function migrateLatest(options: MigrateOptions): Promise<MigrateResult> {
  const lock = new pg.Client({ connectionString: options.databaseUrl });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await lock.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(options.schema)}`);
    const knex = createKnex(options);
    let applied: string[];
    try {
      [, applied] = (await knex.migrate.latest()) as [number, string[]];
    } finally {
      await knex.destroy();
    }
    await lock.query(`SET search_path TO ${quoteIdent(options.schema)}`);
    const partitionsCreated = await ensureOrderPartitions(lock, options.partitionsAheadMonths ?? 3);
    const accessNotes = options.access === undefined ? [] : await applyDatabaseAccess(lock, options.schema, options.access);
    return { applied, partitionsCreated, accessNotes };
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await lock.end();
  }
}

export function createKnex(options: Pick<MigrateOptions, 'databaseUrl' | 'schema'>): Knex {
  return knexFactory({
    client: 'pg',
    connection: options.databaseUrl,
    searchPath: [options.schema],
    pool: { min: 0, max: 2 },
    migrations: { migrationSource, schemaName: options.schema, tableName: 'knex_migrations' },
  });
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Creates the database named in the URL when it does not exist (connecting to the server's `postgres` db). */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (name === '') return false;
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 1) return false;
    try {
      await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
    } catch (error) {
      // Another process created it between the check and the CREATE: that is what we wanted.
      if ((error as { code?: string }).code !== '42P04' && (error as { code?: string }).code !== '23505') throw error;
      return false;
    }
    return true;
  } finally {
    await admin.end();
  }
}
