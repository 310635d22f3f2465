import { loadConfig } from '../platform/config.js';
import { listen } from '../platform/http.js';
import { traceRequests } from '../platform/requestTrace.js';
import { runService } from '../platform/service.js';
import { wireCommandService } from './wiring.js';

/**
 * The command service alone: the write API on COMMAND_PORT, for a deployment that scales writes apart
 * from reads (`npm start` serves both from one process, api/main.ts).
 */
await runService('command-service', async ({ logger, onStop }) => {
  const config = loadConfig();
  const service = wireCommandService(config, logger, 'command-service');
  // The edge (platform/requestTrace): traceparent / X-Request-Id, one access line per answer.
  const server = await listen(traceRequests(service.handler, { logger }), config.host, config.commandPort);
  logger.info({ port: server.port, host: config.host }, 'command service listening');
  onStop(async () => {
    await server.close();
    await service.close();
  });
});
