import { loadConfig } from '../../platform/config.js';
import { createPool } from '../../platform/db.js';
import { listen } from '../../platform/http.js';
import { traceRequests } from '../../platform/requestTrace.js';
import { runService } from '../../platform/service.js';
import { createPspApp } from './app.js';
import { ensurePspSchema } from './store.js';

/** The PSP sandbox process: its own HTTP port (PSP_PORT) and its own schema (PSP_DATABASE_SCHEMA). */
await runService('psp-sandbox', async ({ logger, onStop }) => {
  const config = loadConfig();
  // The sandbox's own role (SANDBOX_DATABASE_URL) owns its schema; the OMS's role cannot touch it.
  const pool = createPool({
    databaseUrl: config.sandboxDatabaseUrl,
    schema: config.pspDatabaseSchema,
    max: 6,
    applicationName: 'psp-sandbox',
  });
  await ensurePspSchema(pool, config.pspDatabaseSchema);
  const { app, hanging } = createPspApp({ pool, logger, latencyMs: config.pspLatencyMs });
  // Each call's traceparent / X-Request-Id (sent by platform/psp) is on its access line.
  const server = await listen(traceRequests(app, { logger }), config.host, config.pspPort);
  logger.info({ port: server.port }, 'PSP sandbox listening');
  onStop(async () => {
    for (const res of hanging) res.destroy();
    await server.close();
    await pool.end();
  });
});
