import { loadConfig } from '../platform/config.js';
import { poolFromConfig } from '../platform/db.js';
import { runService } from '../platform/service.js';
import { createQueryApp } from './app.js';
import { createQueryServer, listenQueryServer } from './server.js';

/** The query service process: the read API on QUERY_PORT, from the read tables only. */
await runService('query-service', async ({ logger, onStop }) => {
  const config = loadConfig();
  const pool = poolFromConfig(config, 'query-service');
  const app = createQueryApp({ pool, logger, healthChecks: { postgres: () => pool.query('SELECT 1') } });
  const server = createQueryServer(pool, app);
  const port = await listenQueryServer(server, config.host, config.queryPort);
  logger.info({ port }, 'query service listening');
  onStop(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await pool.end();
  });
});
