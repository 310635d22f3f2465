import { withTransaction, type Pool } from './db.js';

/**
 * Creates a partner sandbox's own schema and runs its DDL (idempotent statements), as the partner's own
 * storage would be set up: our migrations do not know it. Two processes starting at once take turns on
 * an advisory lock named after the schema.
 */
export async function ensureSandboxSchema(pool: Pool, schema: string, ddl: string): Promise<void> {
  await withTransaction(pool, async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('sandbox-schema:' || $1))`, [schema]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS "${schema}";\n${ddl}`);
  });
}
