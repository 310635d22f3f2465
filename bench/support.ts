import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool, type Pool } from '../platform/db.js';
import { freePorts } from '../platform/http.js';
import { createKafka } from '../platform/kafka.js';
import { pressureKey } from '../platform/pressure.js';
import { createRedis } from '../platform/redis.js';
import { ensureDatabase, quoteIdent } from '../platform/migrate.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const benchDatabaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/oms_bench';

export function say(line: string): void {
  console.log(`bench: ${line}`);
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export interface BenchSystem {
  readonly baseUrl: string;
  /** The system's admin key (OMS_BOOTSTRAP_ADMIN_KEY): admin keys are never rate limited, so the load is not throttled. */
  readonly adminKey: string;
  /** `Authorization: Bearer <adminKey>`. */
  readonly auth: Readonly<Record<string, string>>;
  /** The supervisor's process id: every service process is its child. */
  readonly pid: number;
  readonly schema: string;
  readonly pool: Pool;
  readonly env: Record<string, string>;
  /** Stops every service process; the schema stays for measuring. */
  stopProcesses(): Promise<void>;
  /** Stops what still runs and drops the benchmark's schemas. */
  stop(): Promise<void>;
}

/**
 * The whole system as `npm start` runs it (supervisor and one process per service), on a database,
 * schema, Redis prefix and Kafka topic of the benchmark's own, removed again by stop().
 */
export async function startBenchSystem(name: string, extraEnv: Record<string, string> = {}): Promise<BenchSystem> {
  await ensureDatabase(benchDatabaseUrl);
  const schema = `bench_${name}_${Date.now().toString(36)}`;
  const [port, commandPort, queryPort, pspPort, carrierPort] = await freePorts(5);
  const adminKey = `oms_bench_${randomBytes(24).toString('base64url')}`;
  const demoKeysFile = join(tmpdir(), `${schema}-demo-keys.json`);
  const env = {
    DATABASE_URL: benchDatabaseUrl,
    DATABASE_SCHEMA: schema,
    PSP_DATABASE_SCHEMA: `${schema}_psp`,
    REDIS_PREFIX: `bench:${schema}`,
    KAFKA_ORDER_EVENTS_TOPIC: `bench-${schema}`,
    KAFKA_TOPIC_PARTITIONS: '64',
    PORT: String(port),
    COMMAND_PORT: String(commandPort),
    QUERY_PORT: String(queryPort),
    PSP_PORT: String(pspPort),
    CARRIER_PORT: String(carrierPort),
    WMS_DATABASE_SCHEMA: `${schema}_wms`,
    KAFKA_WMS_EVENTS_TOPIC: `bench-wms-${schema}`,
    WMS_CONSUMER_GROUP: `bench-wms-${schema}`,
    FULFILLMENT_CONSUMER_GROUP: `bench-fulfillment-${schema}`,
    SEED_DEMO_CATALOG: 'false',
    LOG_LEVEL: 'warn',
    OMS_BOOTSTRAP_ADMIN_KEY: adminKey,
    OMS_DEMO_KEYS_FILE: demoKeysFile,
    ...extraEnv,
  };
  say(`starting the system (schema ${schema}) as npm start would`);
  const child: ChildProcess = spawn(process.execPath, [`${repoRoot}dist/scripts/start.js`], {
    env: { ...process.env, ...env },
    stdio: ['ignore', process.env.BENCH_LOG === undefined ? 'ignore' : 'inherit', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const ok = await fetch(`${baseUrl}/health`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      // Stopped before giving up, so a failed start leaves nothing running on the benchmark's ports.
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      throw new Error('the system did not come up');
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const pool = createPool({ databaseUrl: benchDatabaseUrl, schema, max: 4 });
  return {
    baseUrl,
    adminKey,
    auth: { Authorization: `Bearer ${adminKey}` },
    pid: child.pid ?? 0,
    schema,
    pool,
    env,
    async stopProcesses() {
      if (child.exitCode === null) child.kill('SIGINT');
      await exited;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      await exited;
      await pool.end();
      rmSync(demoKeysFile, { force: true });
      const admin = createPool({ databaseUrl: benchDatabaseUrl, schema: 'public', max: 1 });
      await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(`${schema}_psp`)} CASCADE`);
      await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(`${schema}_wms`)} CASCADE`);
      await admin.end();
      // The topics too: a broker's idle cost grows with every partition it keeps.
      const kafka = createKafka([process.env.KAFKA_BROKERS ?? '127.0.0.1:9092'], 'bench-cleanup');
      const kafkaAdmin = kafka.admin();
      await kafkaAdmin.connect();
      await kafkaAdmin
        .deleteTopics({ topics: [env.KAFKA_ORDER_EVENTS_TOPIC, env.KAFKA_WMS_EVENTS_TOPIC] })
        .catch((error: unknown) => say(`could not delete the benchmark's topics: ${String(error)}`));
      await kafkaAdmin.disconnect();
      say('system stopped, its schemas dropped and its topics deleted');
    },
  };
}

export interface PgbenchResult {
  readonly transactions: number;
  readonly tps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/**
 * Runs pgbench with a custom script against the benchmark database and schema, and reads per
 * transaction latencies from its log for percentiles. Undefined when pgbench is not installed.
 */
export function runPgbench(script: string, schema: string, args: readonly string[]): PgbenchResult | undefined {
  if (spawnSync('pgbench', ['--version']).status !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'oms-pgbench-'));
  try {
    const file = join(dir, 'script.sql');
    spawnSync('bash', ['-c', `cat > ${JSON.stringify(file)}`], { input: script });
    const url = new URL(benchDatabaseUrl);
    const result = spawnSync(
      'pgbench',
      [
        '-n',
        '-h',
        url.hostname,
        '-p',
        url.port || '5432',
        '-U',
        decodeURIComponent(url.username || 'postgres'),
        '-f',
        file,
        '-l',
        `--log-prefix=${join(dir, 'log')}`,
        ...args,
        url.pathname.slice(1),
      ],
      { env: { ...process.env, PGOPTIONS: `-c search_path=${schema}` }, encoding: 'utf8' },
    );
    if (result.status !== 0) throw new Error(`pgbench failed: ${result.stderr}`);
    const latencies: number[] = [];
    for (const log of readdirSync(dir).filter((f) => f.startsWith('log'))) {
      for (const line of readFileSync(join(dir, log), 'utf8').split('\n')) {
        const fields = line.trim().split(/\s+/);
        if (fields.length >= 3) latencies.push(Number(fields[2]) / 1000);
      }
    }
    latencies.sort((a, b) => a - b);
    const tps = Number(/tps = ([\d.]+)/.exec(result.stdout)?.[1] ?? Number.NaN);
    return { transactions: latencies.length, tps, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU time (ms) used so far by each part of the system on this machine, by name. */
export type CpuSnapshot = ReadonlyMap<string, number>;

const TICK_MS = 10; // USER_HZ is 100 on Linux

/**
 * Reads /proc: our service processes by their entry point (dist/<service>/main.js), PostgreSQL, Redis
 * and the Kafka broker by their command, and this benchmark process (the load generator).
 */
export function cpuSnapshot(): CpuSnapshot {
  const totals = new Map<string, number>();
  for (const p of machineProcesses()) {
    const name = processName(p.pid, p.cmdline);
    if (name !== undefined) totals.set(name, (totals.get(name) ?? 0) + p.ticks * TICK_MS);
  }
  return totals;
}

/** A process of this machine as /proc shows it: its parent, command line and CPU ticks so far. */
export interface MachineProcess {
  readonly pid: number;
  readonly ppid: number;
  readonly cmdline: string;
  /** utime + stime, in clock ticks (USER_HZ). */
  readonly ticks: number;
}

/** Every process of this machine (those that exit while it reads are left out). */
export function machineProcesses(): MachineProcess[] {
  const found: MachineProcess[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      found.push({ pid: Number(pid), ppid: Number(fields[1]), cmdline, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

function processName(pid: number, cmdline: string): string | undefined {
  if (pid === process.pid) return 'load generator (bench)';
  const ours = new RegExp(`${repoRoot}dist/(.+?)(?:/main)?\\.js`).exec(cmdline);
  if (ours) return ours[1] === 'scripts/start' ? 'supervisor' : ours[1];
  if (/^postgres[: ]/.test(cmdline) || cmdline.includes('bin/postgres')) return 'postgresql';
  if (cmdline.startsWith('redis-server')) return 'redis';
  if (cmdline.includes('kafka.Kafka')) return 'kafka';
  return undefined;
}

/** CPU used between two snapshots, per part, in ms. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Map<string, number> {
  const used = new Map<string, number>();
  for (const [name, ms] of after) used.set(name, ms - (before.get(name) ?? 0));
  return used;
}

/** Prints CPU per part divided by orders (core-ms per order), largest first. */
export function printCpuPerOrder(title: string, used: ReadonlyMap<string, number>, orders: number): number {
  const rows = [...used].filter(([, ms]) => ms > 0).sort((a, b) => b[1] - a[1]);
  const system = rows.filter(([name]) => !name.startsWith('load generator')).reduce((sum, [, ms]) => sum + ms, 0);
  console.log(`  CPU per order, ${title} (core-ms per order over ${orders} orders, from /proc):`);
  for (const [name, ms] of rows) console.log(`    ${name.padEnd(32)} ${(ms / Math.max(1, orders)).toFixed(2)}`);
  console.log(`    ${'the system (without the load generator)'.padEnd(32)} ${(system / Math.max(1, orders)).toFixed(2)}`);
  return system / Math.max(1, orders);
}

/**
 * Samples the API's back-pressure signal (platform/pressure) every 100 ms while a benchmark runs;
 * stop() answers the share of samples that found it raised.
 */
export function samplePressure(system: BenchSystem): { stop(): Promise<number> } {
  const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 'bench-pressure');
  const key = pressureKey(system.env.REDIS_PREFIX ?? '');
  let samples = 0;
  let raised = 0;
  const timer = setInterval(() => {
    redis.exists(key).then(
      (n) => {
        samples++;
        if (n > 0) raised++;
      },
      () => undefined,
    );
  }, 100);
  return {
    async stop() {
      clearInterval(timer);
      await redis.quit().catch(() => undefined);
      return samples === 0 ? 0 : raised / samples;
    },
  };
}
