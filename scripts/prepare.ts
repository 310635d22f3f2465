import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { seedDemoCatalog } from '../db/seeds/demoCatalog.js';
import type { Config } from '../platform/config.js';
import { createPool } from '../platform/db.js';
import { accessFromConfig } from '../platform/databaseRoles.js';
import { createKafka, ensureTopics, systemTopics } from '../platform/kafka.js';
import { ensureDatabase, migrateLatest } from '../platform/migrate.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Whether something accepts TCP connections at host:port within a second. */
export function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1_000 });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** What a start brought up itself: the local Kafka broker's port, to be stopped with it. */
export interface Prepared {
  readonly startedKafkaPort: number | undefined;
}

/** Everything the services need before they start, each step saying what it did. */
export async function prepareSystem(
  config: Config,
  options: { startLocalServices: boolean; seed: boolean; say: (line: string) => void },
): Promise<Prepared> {
  const { say } = options;
  let startedKafkaPort: number | undefined;
  if (options.startLocalServices) {
    const [host = '127.0.0.1', portText = '9092'] = (config.kafkaBrokers[0] ?? '127.0.0.1:9092').split(':');
    const kafkaWasUp = await answers(host, Number(portText));
    const services = spawnSync('bash', [`${repoRoot}scripts/ensure-services.sh`], { stdio: 'inherit', env: process.env });
    if (services.status !== 0) throw new Error('scripts/ensure-services.sh failed');
    if (!kafkaWasUp && (await answers(host, Number(portText)))) startedKafkaPort = Number(portText);
  }

  // Everything here runs as the owner (MIGRATION_DATABASE_URL); the services then connect as their role.
  if (await ensureDatabase(config.migrationDatabaseUrl))
    say(`postgres: created database ${new URL(config.migrationDatabaseUrl).pathname.slice(1)}`);

  const created = await withDeadline('kafka topics', 60_000, async () => {
    const admin = createKafka(config.kafkaBrokers, 'oms-prepare').admin();
    await admin.connect();
    try {
      return await ensureTopics(admin, systemTopics(config));
    } finally {
      await admin.disconnect();
    }
  });
  say(created.length > 0 ? `kafka: created topic(s) ${created.join(', ')}` : 'kafka: topics exist');

  const migrated = await migrateLatest({
    databaseUrl: config.migrationDatabaseUrl,
    schema: config.databaseSchema,
    partitionsAheadMonths: config.orderPartitionsAheadMonths,
    access: accessFromConfig(config),
  });
  say(
    migrated.applied.length > 0
      ? `migrate: applied ${migrated.applied.join(', ')}; ${migrated.partitionsCreated} order partition(s) created`
      : `migrate: schema "${config.databaseSchema}" is up to date`,
  );
  for (const note of migrated.accessNotes) say(`roles: ${note}`);

  if (options.seed) {
    const pool = createPool({ databaseUrl: config.migrationDatabaseUrl, schema: config.databaseSchema, max: 1 });
    try {
      say(
        (await seedDemoCatalog(pool))
          ? 'seed: demo catalog loaded (24 products, 4 warehouses)'
          : 'seed: catalog not empty; left as it is',
      );
    } finally {
      await pool.end();
    }
  }
  return { startedKafkaPort };
}

/** Stops the local Kafka broker a start brought up (scripts/kafka/stop.sh). */
export function stopLocalKafka(port: number): void {
  spawnSync('bash', [`${repoRoot}scripts/kafka/stop.sh`], {
    stdio: 'inherit',
    env: { ...process.env, OMS_KAFKA_PORT: String(port) },
  });
}

/** Retries fn until it succeeds or the deadline passes (a broker that just opened its port may not serve yet). */
export async function withDeadline<T>(what: string, ms: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${ms} ms: ${String(error)}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
