import type pg from 'pg';
import type { Config } from './config.js';
import { STATEMENT_TIMEOUT_MS } from './db.js';

/**
 * Least privilege in PostgreSQL (decision 0015): migrations run as the owner of the OMS schema; every
 * service connects as the service role, which may read and write rows but never change or remove what
 * the event log holds, nor change the schema; the partner sandboxes connect as a role of their own that
 * owns their schemas, which the service role cannot touch.
 */

/** A role as a connection URL names it; the password is set only when the role is created. */
export interface DatabaseRole {
  readonly name: string;
  readonly password?: string;
}

export interface DatabaseAccess {
  /** The role of every OMS service (DATABASE_URL); absent when the services connect as the owner. */
  readonly service?: DatabaseRole;
  /** The role of the sandboxes (SANDBOX_DATABASE_URL); absent when they connect as the owner. */
  readonly sandbox?: DatabaseRole;
  /** Sandbox schemas an earlier single-role setup created as the owner: given to the sandbox role. */
  readonly sandboxSchemas?: readonly string[];
}

/** Tables whose rows are never changed nor removed once written: the service role may only add to them. */
export const APPEND_ONLY_TABLES: readonly string[] = Object.freeze(['order_events']);

/** The migrations' own bookkeeping: no service reads it. */
const MIGRATION_TABLES: readonly string[] = Object.freeze(['knex_migrations', 'knex_migrations_lock']);

export function roleOf(databaseUrl: string): DatabaseRole | undefined {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.username);
  if (name === '') return undefined;
  return url.password === '' ? { name } : { name, password: decodeURIComponent(url.password) };
}

/** The roles the configuration connects as, beside the owner (a role named like the owner is the owner). */
export function accessFromConfig(config: Config): DatabaseAccess {
  const owner = roleOf(config.migrationDatabaseUrl)?.name;
  const other = (url: string) => {
    const role = roleOf(url);
    return role === undefined || role.name === owner ? undefined : role;
  };
  const service = other(config.databaseUrl);
  const sandbox = other(config.sandboxDatabaseUrl);
  return {
    ...(service === undefined ? {} : { service }),
    ...(sandbox === undefined || sandbox.name === service?.name ? {} : { sandbox }),
    sandboxSchemas: [config.pspDatabaseSchema, config.wmsDatabaseSchema],
  };
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Creates the roles if missing, then grants them what they need on `schema` and nothing more. Run by
 * the owner after every migration run (under the migration lock, so two processes never grant at once):
 * tables a migration added get their grants at once, and default privileges give them to tables the
 * owner creates later (order partitions, a rebuilt read model). Idempotent. Returns notes for people.
 */
export async function applyDatabaseAccess(client: pg.ClientBase, schema: string, access: DatabaseAccess): Promise<string[]> {
  const notes: string[] = [];
  const { rows } = await client.query<{ owner: string }>('SELECT current_user AS owner');
  const owner = rows[0]?.owner ?? '';
  const service = access.service?.name === owner ? undefined : access.service;
  const sandbox = access.sandbox?.name === owner || access.sandbox?.name === service?.name ? undefined : access.sandbox;
  if (service === undefined)
    notes.push(`the services connect as the owner (${owner}): nothing keeps them from changing order_events`);
  for (const role of [service, sandbox]) {
    if (role !== undefined && (await ensureRole(client, role))) notes.push(`created role ${role.name}`);
  }
  const s = ident(schema);
  if (service !== undefined) {
    const r = ident(service.name);
    const superuser = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1 AND rolsuper', [service.name]);
    if (superuser.rowCount !== 0) notes.push(`the service role ${service.name} is a superuser: grants do not bind it`);
    const existing = async (tables: readonly string[]) =>
      (
        await client.query<{ name: string }>(
          'SELECT relname AS name FROM pg_class WHERE relnamespace = $1::regnamespace AND relname = ANY($2)',
          [schema, tables],
        )
      ).rows.map((row) => `${s}.${ident(row.name)}`);
    // The append-only tables and their partitions (order_events has one per month, migration 0018).
    const appendOnly = (
      await client.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_class c
          WHERE c.relnamespace = $1::regnamespace
            AND (c.relname = ANY($2) OR c.oid IN (SELECT i.inhrelid FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                                                  WHERE p.relnamespace = $1::regnamespace AND p.relname = ANY($2)))`,
        [schema, APPEND_ONLY_TABLES],
      )
    ).rows.map((row) => `${s}.${ident(row.name)}`);
    const bookkeeping = await existing(MIGRATION_TABLES);
    // One simple query: one implicit transaction, so no moment shows the grants without the revokes.
    await client.query(`GRANT USAGE ON SCHEMA ${s} TO ${r};
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${r};
      GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${r};
      GRANT EXECUTE ON ALL ROUTINES IN SCHEMA ${s} TO ${r};
      ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${r};
      ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT USAGE, SELECT ON SEQUENCES TO ${r};
      ${bookkeeping.length > 0 ? `REVOKE ALL ON ${bookkeeping.join(', ')} FROM ${r};` : ''}
      ${appendOnly.length > 0 ? `REVOKE UPDATE, DELETE, TRUNCATE ON ${appendOnly.join(', ')} FROM ${r};` : ''}`);
    // Behind PgBouncer in transaction mode the pools' statement_timeout startup parameter is dropped
    // (decision 0017): the role carries the same timeout, so a runaway statement is cut off either way.
    // Written only when missing: roles are the cluster's, and other databases' setups may run at once.
    const timeout = await client.query(
      `SELECT 1 FROM pg_db_role_setting WHERE setrole = $1::regrole AND setdatabase = 0 AND $2 = ANY(setconfig)`,
      [service.name, `statement_timeout=${STATEMENT_TIMEOUT_MS}`],
    );
    if (timeout.rowCount === 0)
      await client.query(`ALTER ROLE ${r} SET statement_timeout = ${STATEMENT_TIMEOUT_MS}`).catch((error: unknown) => {
        notes.push(
          `could not set statement_timeout on ${service.name} (${String(error)}): behind PgBouncer nothing limits a statement`,
        );
      });
  }
  if (sandbox !== undefined) {
    const r = ident(sandbox.name);
    // The sandboxes create their own schemas at start, as a partner's own storage would be set up.
    const { rows: db } = await client.query<{ name: string; can: boolean }>(
      `SELECT current_database() AS name, has_database_privilege($1, current_database(), 'CREATE') AS can`,
      [sandbox.name],
    );
    if (db[0] !== undefined && !db[0].can) {
      // Only the database's owner may grant it: an owner role that is not says so and goes on.
      await client.query(`GRANT CREATE ON DATABASE ${ident(db[0].name)} TO ${r}`).catch((error: unknown) => {
        notes.push(`could not let ${sandbox.name} create its schemas (${String(error)}): grant it CREATE on the database`);
      });
    }
    for (const other of access.sandboxSchemas ?? []) notes.push(...(await giveSchema(client, other, sandbox.name)));
    // The WMS sandbox runs our Kafka consumer, whose dead letters go to the OMS's table: that table only.
    const deadLetters = await client.query('SELECT 1 FROM pg_class WHERE relnamespace = $1::regnamespace AND relname = $2', [
      schema,
      'dead_letters',
    ]);
    await client.query(`GRANT USAGE ON SCHEMA ${s} TO ${r};
      ${deadLetters.rowCount !== 0 ? `GRANT SELECT, INSERT, UPDATE ON ${s}.dead_letters TO ${r};` : ''}`);
  }
  return notes;
}

/** Creates a LOGIN role unless it exists; two processes creating it at once both succeed. */
async function ensureRole(client: pg.ClientBase, role: DatabaseRole): Promise<boolean> {
  const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role.name]);
  if (exists.rowCount !== 0) return false;
  const password = role.password === undefined ? '' : ` PASSWORD ${client.escapeLiteral(role.password)}`;
  try {
    await client.query(`CREATE ROLE ${ident(role.name)} LOGIN${password}`);
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    // duplicate_object, or the catalog's unique index when another process created it meanwhile.
    if (code === '42710' || code === '23505') return false;
    throw new Error(`cannot create role ${role.name} (${String(error)}): create it, or give the migration role CREATEROLE`, {
      cause: error,
    });
  }
}

/** A sandbox schema created by an earlier single-role setup becomes the sandbox role's, with all it holds. */
async function giveSchema(client: pg.ClientBase, schema: string, role: string): Promise<string[]> {
  const { rows } = await client.query<{ owner: string }>(
    'SELECT nspowner::regrole::text AS owner FROM pg_namespace WHERE nspname = $1',
    [schema],
  );
  const owner = rows[0]?.owner;
  if (owner === undefined || owner === ident(role) || owner === role) return [];
  // Sequences and indexes follow their tables.
  const relations = await client.query<{ name: string }>(
    `SELECT relname AS name FROM pg_class
      WHERE relnamespace = $1::regnamespace AND relkind IN ('r', 'p', 'v', 'm') AND relowner <> $2::regrole`,
    [schema, role],
  );
  const s = ident(schema);
  await client.query(`ALTER SCHEMA ${s} OWNER TO ${ident(role)};
    ${relations.rows.map((row) => `ALTER TABLE ${s}.${ident(row.name)} OWNER TO ${ident(role)};`).join('\n')}`);
  return [`schema ${schema} now belongs to ${role}`];
}
