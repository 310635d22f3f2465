import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { seedDemoCatalog } from '../db/seeds/demoCatalog.js';
import type { Config } from '../platform/config.js';
import { createPool } from '../platform/db.js';
import { accessFromConfig } from '../platform/databaseRoles.js';
import { createKafka, ensureTopics, systemTopics } from '../platform/kafka.js';
import { ensureDatabase, migrateLatest } from '../platform/migrate.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Everything the services need before they start, each step saying what it did. */
export async function prepareSystem(
  config: Config,
  options: { startLocalServices: boolean; seed: boolean; say: (line: string) => void },
): Promise<void> {
  const { say } = options;
  if (options.startLocalServices) {
    const services = spawnSync('bash', [`${repoRoot}scripts/ensure-services.sh`], { stdio: 'inherit', env: process.env });
    if (services.status !== 0) throw new Error('scripts/ensure-services.sh failed');
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
}

/** Retries fn until it succeeds or the deadline passes (a broker that just opened its port may not serve yet). */
export async function withDeadline<T>(what: string, ms: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${ms} ms: ${String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
