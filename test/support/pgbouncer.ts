import { spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { eventually } from './env.js';
import { freePort } from './processes.js';

/**
 * The settings of docker-compose.yml's pgbouncer service that decide what a client may rely on: the
 * e2e test runs with these, and test/unit/deploy.compose.spec.ts checks that compose says the same.
 */
export const PGBOUNCER_SETTINGS = Object.freeze({
  poolMode: 'transaction',
  ignoreStartupParameters: 'extra_float_digits,options,statement_timeout',
});

export interface RunningPgBouncer {
  readonly port: number;
  /** Everything PgBouncer printed (it logs to stderr when not a daemon). */
  readonly log: string[];
  /** A command of its admin console (SHOW …), as its admin user. */
  admin<R extends pg.QueryResultRow>(command: string): Promise<R[]>;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** The name clients connect to, and the database behind it on PostgreSQL. */
  readonly alias: string;
  readonly server: { readonly host: string; readonly port: number; readonly database: string };
  /** The roles that may log in (trust: PgBouncer still wants them listed). */
  readonly users: readonly string[];
  /** Server connections per (database, user). */
  readonly poolSize: number;
}

function pgbouncerBinary(): string {
  // Debian installs it in /usr/sbin, which a user's PATH may lack.
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin']) {
    const candidate = join(dir, 'pgbouncer');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error('pgbouncer not found: run scripts/ensure-test-tools.sh (Debian package pgbouncer)');
}

/**
 * Starts PgBouncer as a child process (not a daemon) on a free port of 127.0.0.1, with a configuration
 * written to a temporary directory, and resolves once its admin console answers.
 */
export async function startPgBouncer(options: PgBouncerOptions): Promise<RunningPgBouncer> {
  const dir = mkdtempSync(join(tmpdir(), 'oms-pgbouncer-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `${options.alias} = host=${options.server.host} port=${options.server.port} dbname=${options.server.database}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      "unix_socket_dir = ''",
      // Local trust, as the test database allows; compose uses scram-sha-256 with the roles' passwords.
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'admin_users = pgbouncer',
      `pool_mode = ${PGBOUNCER_SETTINGS.poolMode}`,
      'max_client_conn = 2000',
      `default_pool_size = ${options.poolSize}`,
      `ignore_startup_parameters = ${PGBOUNCER_SETTINGS.ignoreStartupParameters}`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'userlist.txt'), [...options.users, 'pgbouncer'].map((u) => `"${u}" ""\n`).join(''));
  // PgBouncer refuses to run as root: a root test run starts it as nobody, which must read its files.
  chmodSync(dir, 0o755);
  const asRoot = process.getuid?.() === 0;
  const child = spawn(pgbouncerBinary(), [...(asRoot ? ['-u', 'nobody'] : []), join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const admin = async <R extends pg.QueryResultRow>(command: string): Promise<R[]> => {
    // The console takes simple queries only: pg sends one for a text without values.
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'pgbouncer', database: 'pgbouncer' });
    await client.connect();
    try {
      return (await client.query<R>(command)).rows;
    } finally {
      await client.end();
    }
  };
  const stop = async () => {
    // SIGTERM: PgBouncer's immediate shutdown.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually('pgbouncer accepting connections', async () => {
      if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}: ${log.join('')}`);
      await admin('SHOW VERSION');
      return true;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, log, admin, stop };
}
