import type { Config } from '../../platform/config.js';
import { listen } from '../../platform/http.js';
import { traceRequests } from '../../platform/requestTrace.js';
import { sandboxPool, startService, type ServiceDeps, type Started } from '../../platform/wiring.js';
import { createPspApp } from './app.js';
import { ensurePspSchema } from './store.js';

/**
 * The PSP sandbox: its own HTTP port (PSP_PORT) and its own schema (PSP_DATABASE_SCHEMA), on its ledger
 * pool (`deps.pool`, else one of its own): what the partner itself holds.
 */
export function start(config: Config, deps: ServiceDeps): Promise<Started<{ readonly port: number }>> {
  const { logger } = deps;
  return startService(async (shutdown) => {
    // The sandbox's own role (SANDBOX_DATABASE_URL) owns its schema; the OMS's role cannot touch it.
    const ledger = shutdown.pool(deps.pool, () => sandboxPool(config, config.pspDatabaseSchema, 6, 'psp-sandbox'));
    await ensurePspSchema(ledger, config.pspDatabaseSchema);
    const { app, hanging } = createPspApp({ pool: ledger, logger, latencyMs: config.pspLatencyMs });
    // Each call's traceparent / X-Request-Id (sent by platform/psp) is on its access line.
    const server = await listen(traceRequests(app, { logger }), config.host, config.pspPort);
    shutdown.add(async () => {
      for (const res of hanging) res.destroy();
      await server.close();
    });
    logger.info({ port: server.port }, 'PSP sandbox listening');
    return { port: server.port };
  });
}
