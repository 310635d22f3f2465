import { createHash } from 'node:crypto';
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

/**
 * The longest a statement of ours may run: a runaway statement must not hold a connection forever. Sent
 * as a startup parameter, and also set on the service role (platform/databaseRoles.ts), because a pooler
 * in transaction mode (PgBouncer) drops startup parameters.
 */
export const STATEMENT_TIMEOUT_MS = 30_000;

export interface PoolOptions {
  readonly databaseUrl: string;
  readonly schema: string;
  readonly max?: number;
  readonly applicationName?: string;
  /** Parameterized statements become named prepared statements (planned once per connection). Default true. */
  readonly preparedStatements?: boolean;
}

/** Statement names by text: a parameterized statement is prepared once per connection under its name. */
const statementNames = new Map<string, string>();
/** Beyond this many distinct texts (a text built per call), statements stay unnamed. */
const MAX_NAMED_STATEMENTS = 2_000;

function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined) {
    if (statementNames.size >= MAX_NAMED_STATEMENTS) return undefined;
    name = `oms_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * A client whose parameterized statements are named prepared statements: PostgreSQL parses and plans
 * each of our hot statements once per connection instead of at every execution (the big set-based
 * statements cost more to plan than to run). Statements without parameters (BEGIN, simple queries
 * with several statements) are sent as they are.
 */
class PreparingClient extends pg.Client {
  // pg's query() has a dozen overloads; this forwards whatever it gets, naming the (text, values) forms.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    const [text, values, callback] = args as [unknown, unknown, unknown];
    if (typeof text === 'string' && Array.isArray(values) && (args.length === 2 || typeof callback === 'function')) {
      const name = statementName(text);
      if (name !== undefined) {
        const config = { name, text, values };
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the same overloads as above
        return args.length === 2 ? super.query(config) : (super.query as any)(config, callback);
      }
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the same overloads as above
    return (super.query as any)(...args);
  }
}

export function createPool(options: PoolOptions): Pool {
  const pool = new pg.Pool({
    ...(options.preparedStatements === false ? {} : { Client: PreparingClient }),
    connectionString: options.databaseUrl,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'oms',
    options: `-c search_path=${options.schema} -c plan_cache_mode=force_custom_plan`,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: STATEMENT_TIMEOUT_MS,
  });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', () => undefined);
  // Nor a checked-out one: pg emits the socket's error on the client as well as failing its query, and
  // an 'error' event without a listener would kill the process. The query's rejection is what callers
  // handle (a transient failure, retried).
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

export function poolFromConfig(config: Config, applicationName: string): Pool {
  return createPool({
    databaseUrl: config.databaseUrl,
    schema: config.databaseSchema,
    max: config.dbPoolSize,
    applicationName,
    preparedStatements: config.dbPreparedStatements,
  });
}

/** Runs fn in one transaction: COMMIT when it resolves, ROLLBACK when it throws. */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  return withTransactionOpenedBy(pool, undefined, (client) => fn(client));
}

/** A deadlock or a serialization failure: PostgreSQL rolled the transaction back, and running it again may succeed. */
export function isTransactionConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/**
 * withTransaction, run again (up to `attempts` times in all) when PostgreSQL rolled it back for a
 * deadlock or a serialization failure: nothing of it was kept, so running it again is safe. For work
 * whose only effects are its statements.
 */
export async function withTransactionRetryingConflicts<T>(
  pool: Pool,
  fn: (client: PoolClient) => Promise<T>,
  attempts = 3,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(pool, fn);
    } catch (error) {
      if (attempt >= attempts || !isTransactionConflict(error)) throw error;
    }
  }
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
