import { loadConfig } from '../../platform/config.js';
import { listen } from '../../platform/http.js';
import { traceRequests } from '../../platform/requestTrace.js';
import { runService } from '../../platform/service.js';
import { createCarrierApp } from './app.js';

/** The carrier tracking sandbox process (CARRIER_PORT). */
await runService('carrier-sandbox', async ({ logger, onStop }) => {
  const config = loadConfig();
  const server = await listen(
    traceRequests(createCarrierApp({ logger, stepMs: config.carrierSimStepMs }), { logger }),
    config.host,
    config.carrierPort,
  );
  logger.info({ port: server.port, step_ms: config.carrierSimStepMs }, 'carrier sandbox listening');
  onStop(() => server.close());
});
