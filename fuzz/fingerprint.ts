import type { Queryable } from '../platform/db.js';
import { quoteIdent } from '../platform/migrate.js';

/**
 * A fingerprint of the business tables: per table its row count and a hash of every row, so any
 * insert, update or delete shows (a stronger form of "counts and max versions"). Left out: what a
 * refused request may leave by design — Idempotency-Key records (a 4xx under a key is stored to be
 * answered again, contract §2) — and the bookkeeping of processes the fuzzer does not run (inbox,
 * relay checkpoints, migrations).
 */
export type Fingerprint = ReadonlyMap<string, string>;

const NOT_BUSINESS = new Set([
  'idempotency_keys',
  'idempotency',
  'processed_messages',
  'relay_checkpoints',
  'relay_wakeup',
  'knex_migrations',
  'knex_migrations_lock',
]);

/** The statement that fingerprints these schemas' business tables (partitioned tables counted once, whole). */
export async function fingerprintStatement(db: Queryable, schemas: readonly string[]): Promise<string> {
  const tables = await db.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      ORDER BY 1, 2`,
    [schemas],
  );
  const parts = tables.rows
    .filter((t) => !NOT_BUSINESS.has(t.name))
    .map((t) => {
      const table = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
      const label = `${t.schema}.${t.name}`.replace(/'/g, "''");
      return `SELECT '${label}' AS name, count(*) || ' rows, ' || md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) AS print FROM ${table} r`;
    });
  if (parts.length === 0) throw new Error(`no tables to fingerprint in ${schemas.join(', ')}`);
  return parts.join('\nUNION ALL ');
}

export async function takeFingerprint(db: Queryable, statement: string): Promise<Fingerprint> {
  const result = await db.query<{ name: string; print: string }>(statement);
  return new Map(result.rows.map((r) => [r.name, r.print]));
}

/** What differs between two fingerprints, table by table. */
export function fingerprintChanges(before: Fingerprint, after: Fingerprint): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names]
    .filter((name) => before.get(name) !== after.get(name))
    .map((name) => `${name}: ${before.get(name) ?? 'absent'} → ${after.get(name) ?? 'absent'}`);
}
