import pg from 'pg';
import { loadConfig, type Config } from '../../platform/config.js';
import { createPool, type Pool } from '../../platform/db.js';
import { quoteIdent } from '../../platform/migrate.js';

/** Tests run against their own database (TEST_DATABASE_URL, default oms_test) on the real server. */
export const testDatabaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/oms_test';

/** The same database as another role (decision 0015): the test systems' services and sandboxes connect so. */
function asRole(databaseUrl: string, role: string): string {
  const url = new URL(databaseUrl);
  url.username = role;
  url.password = '';
  return url.toString();
}
/** The role the services of a test system connect as (TEST_DATABASE_URL's user owns and migrates). */
export const testServiceDatabaseUrl = process.env.TEST_SERVICE_DATABASE_URL ?? asRole(testDatabaseUrl, 'oms_service');
/** The role the sandboxes of a test system connect as. */
export const testSandboxDatabaseUrl = process.env.TEST_SANDBOX_DATABASE_URL ?? asRole(testDatabaseUrl, 'oms_sandbox');

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ...process.env,
    DATABASE_URL: testDatabaseUrl,
    DATABASE_SCHEMA: 'public',
    LOG_LEVEL: 'silent',
    ...overrides,
  });
}

let shared: Pool | undefined;

/** One pool for the whole run, closed by the root hook. */
export function testPool(): Pool {
  shared ??= createPool({ databaseUrl: testDatabaseUrl, schema: 'public', max: 30, applicationName: 'oms-tests' });
  return shared;
}

export async function closeTestPool(): Promise<void> {
  await shared?.end();
  shared = undefined;
}

let counter = 0;
/** A fresh id no other test (or earlier run) uses: tests own their data. */
export function uniqueId(prefix: string): string {
  counter++;
  return `${prefix}-${Date.now().toString(36)}-${process.pid.toString(36)}-${counter}`;
}

/** Polls until check returns a value other than undefined, or fails after the deadline. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  deadlineMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not reached within ${deadlineMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Drops these schemas (and everything in them) as the test database's owner. */
export async function dropSchemas(...schemas: readonly string[]): Promise<void> {
  const owner = new pg.Client({ connectionString: testDatabaseUrl });
  await owner.connect();
  try {
    for (const schema of schemas) await owner.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  } finally {
    await owner.end();
  }
}
