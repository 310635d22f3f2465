import pg from 'pg';
import type { Config } from './config.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that runs a query: the pool, or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

// BIGINT (int8) columns hold money in minor units and counts; they fit a JS number far beyond any order
// total, so parse them as numbers rather than strings. Values outside the safe range are refused.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`int8 value ${value} exceeds the safe integer range`);
  return n;
});

export interface PoolOptions {
  readonly databaseUrl: string;
  readonly schema: string;
  readonly max?: number;
  readonly applicationName?: string;
}

export function createPool(options: PoolOptions): Pool {
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'oms',
    options: `-c search_path=${options.schema}`,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // A runaway statement must not hold a connection forever.
    statement_timeout: 30_000,
  });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', () => undefined);
  return pool;
}

export function poolFromConfig(config: Config, applicationName: string): Pool {
  return createPool({
    databaseUrl: config.databaseUrl,
    schema: config.databaseSchema,
    max: config.dbPoolSize,
    applicationName,
  });
}

/** Runs fn in one transaction: COMMIT when it resolves, ROLLBACK when it throws. */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  return withTransactionOpenedBy(pool, undefined, (client) => fn(client));
}

/**
 * Like withTransaction, but the transaction's first statement travels in the same message as BEGIN
 * (a simple query: no parameters, so the caller inlines only values it has checked), saving a round
 * trip; fn gets that statement's rows.
 */
export async function withTransactionOpenedBy<T, R extends pg.QueryResultRow = pg.QueryResultRow>(
  pool: Pool,
  opening: string | undefined,
  fn: (client: PoolClient, openingRows: R[]) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    let rows: R[] = [];
    if (opening === undefined) await client.query('BEGIN');
    else {
      // A multi-statement simple query answers one result per statement: BEGIN's, then the opening's.
      const results = (await client.query(`BEGIN; ${opening}`)) as unknown as Array<pg.QueryResult<R>>;
      rows = results[1]?.rows ?? [];
    }
    const result = await fn(client, rows);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
