import type { Config } from '../../platform/config.js';
import { listen } from '../../platform/http.js';
import { traceRequests } from '../../platform/requestTrace.js';
import type { ServiceDeps, Started } from '../../platform/wiring.js';
import { createCarrierApp } from './app.js';

/** The carrier tracking sandbox (CARRIER_PORT). */
export async function start(config: Config, deps: ServiceDeps): Promise<Started<{ readonly port: number }>> {
  const { logger } = deps;
  const app = createCarrierApp({ logger, stepMs: config.carrierSimStepMs });
  const server = await listen(traceRequests(app, { logger }), config.host, config.carrierPort);
  logger.info({ port: server.port, step_ms: config.carrierSimStepMs }, 'carrier sandbox listening');
  return { port: server.port, stop: () => server.close() };
}
