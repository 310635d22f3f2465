import { createHash } from 'node:crypto';
import { withTransaction, type Pool } from './db.js';

/**
 * Creates a partner sandbox's own schema and runs its DDL (idempotent statements), as the partner's own
 * storage would be set up: our migrations do not know it. Two processes starting at once take turns on
 * an advisory lock named after the schema.
 *
 * The schema remembers a digest of the DDL it last ran, and a sandbox restarting on the same DDL runs
 * none of it: an `ALTER TABLE … IF NOT EXISTS` takes its table's ACCESS EXCLUSIVE lock even when it
 * changes nothing, and a restart after SIGKILL would queue behind the killed process's session until
 * PostgreSQL notices it is gone.
 */
export async function ensureSandboxSchema(pool: Pool, schema: string, ddl: string): Promise<void> {
  const digest = createHash('sha256').update(ddl).digest('hex');
  const applied = async (query: Pick<Pool, 'query'>) => {
    const { rows } = await query.query(`SELECT 1 FROM "${schema}".sandbox_schema WHERE digest = $1`, [digest]);
    return rows.length > 0;
  };
  // A first start finds no such table yet: that is "not applied".
  if (await applied(pool).catch(() => false)) return;
  await withTransaction(pool, async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('sandbox-schema:' || $1))`, [schema]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS "${schema}";
      CREATE TABLE IF NOT EXISTS "${schema}".sandbox_schema (digest text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    if (await applied(tx)) return;
    await tx.query(ddl);
    await tx.query(`INSERT INTO "${schema}".sandbox_schema (digest) VALUES ($1)`, [digest]);
  });
}
