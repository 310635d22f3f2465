import { loadConfig } from '../platform/config.js';
import { ensureBootstrapAdminKey } from './demoKeys.js';
import { prepareSystem } from './prepare.js';

/**
 * `npm run setup`: for deployments whose PostgreSQL, Redis and Kafka run elsewhere (docker compose, a
 * cluster): creates the database and topics, migrates, and loads the demo catalog into an empty catalog
 * when SEED_DEMO_CATALOG is true, and makes sure the admin key of OMS_BOOTSTRAP_ADMIN_KEY exists when it
 * is set (no demo keys: a deployment creates its clients' keys itself). Starts nothing.
 */
const config = loadConfig();
await prepareSystem(config, {
  startLocalServices: false,
  seed: config.seedDemoCatalog,
  say: (line) => console.log(`setup: ${line}`),
});
await ensureBootstrapAdminKey(config, (line) => console.log(`setup: ${line}`));
