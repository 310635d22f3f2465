import { loadConfig } from '../platform/config.js';
import { accessFromConfig } from '../platform/databaseRoles.js';
import { migrateLatest } from '../platform/migrate.js';

/**
 * `npm run migrate`: as the owner (MIGRATION_DATABASE_URL), applies pending migrations, creates order
 * partitions ahead, and grants the service and sandbox roles what they need (decision 0015).
 */
const config = loadConfig();
const result = await migrateLatest({
  databaseUrl: config.migrationDatabaseUrl,
  schema: config.databaseSchema,
  partitionsAheadMonths: config.orderPartitionsAheadMonths,
  access: accessFromConfig(config),
});
console.log(
  result.applied.length === 0
    ? `migrate: schema "${config.databaseSchema}" is up to date`
    : `migrate: applied ${result.applied.join(', ')} to schema "${config.databaseSchema}"`,
);
console.log(`migrate: ${result.partitionsCreated} order partition(s) created`);
for (const note of result.accessNotes) console.log(`migrate: roles: ${note}`);
