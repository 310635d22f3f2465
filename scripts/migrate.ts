import { loadConfig } from '../platform/config.js';
import { migrateLatest } from '../platform/migrate.js';

/** `npm run migrate`: applies pending migrations and creates order partitions ahead. */
const config = loadConfig();
const result = await migrateLatest({
  databaseUrl: config.databaseUrl,
  schema: config.databaseSchema,
  partitionsAheadMonths: config.orderPartitionsAheadMonths,
});
console.log(
  result.applied.length === 0
    ? `migrate: schema "${config.databaseSchema}" is up to date`
    : `migrate: applied ${result.applied.join(', ')} to schema "${config.databaseSchema}"`,
);
console.log(`migrate: ${result.partitionsCreated} order partition(s) created`);
