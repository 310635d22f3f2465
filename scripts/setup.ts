import { loadConfig } from '../platform/config.js';
import { prepareSystem } from './prepare.js';

/**
 * `npm run setup`: for deployments whose PostgreSQL, Redis and Kafka run elsewhere (docker compose, a
 * cluster): creates the database and topics, migrates, and loads the demo catalog into an empty catalog
 * when SEED_DEMO_CATALOG is true. Starts nothing.
 */
const config = loadConfig();
await prepareSystem(config, {
  startLocalServices: false,
  seed: config.seedDemoCatalog,
  say: (line) => console.log(`setup: ${line}`),
});
