import type { ApiKeyCache, RateLimiter } from '../platform/authentication.js';
import type { Config } from '../platform/config.js';
import { listen } from '../platform/http.js';
import { traceRequests } from '../platform/requestTrace.js';
import type { ServiceDeps, Started } from '../platform/wiring.js';
import { wireCommandService } from './wiring.js';

export interface CommandServiceHandles {
  readonly port: number;
  /** Its API key cache and rate limiter, for a query service sharing them in one process. */
  readonly keys: ApiKeyCache;
  readonly limiter: RateLimiter;
}

/**
 * The command service alone: the write API on COMMAND_PORT, for a deployment that scales writes apart
 * from reads (`npm start` serves both from one process, api/main.ts).
 */
export async function start(config: Config, deps: ServiceDeps): Promise<Started<CommandServiceHandles>> {
  const { logger } = deps;
  const service = wireCommandService(config, deps, 'command-service');
  // The edge (platform/requestTrace): traceparent / X-Request-Id, one access line per answer.
  const server = await listen(traceRequests(service.handler, { logger }), config.host, config.commandPort);
  logger.info({ port: server.port, host: config.host }, 'command service listening');
  return {
    port: server.port,
    keys: service.keys,
    limiter: service.limiter,
    async stop() {
      await server.close();
      await service.close();
    },
  };
}
