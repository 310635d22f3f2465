import type { Config } from '../../platform/config.js';
import { startService, streamConnections, type ServiceDeps, type Started } from '../../platform/wiring.js';
import { Projector, projectorSettings } from './projector.js';

/** The projector: order events from Redis Streams into the query service's read tables. */
export function start(config: Config, deps: ServiceDeps): Promise<Started<{ readonly projector: Projector }>> {
  return startService(async (shutdown) => {
    const connections = streamConnections(config, deps, 'projector', shutdown);
    const projector = await shutdown.start(new Projector({ ...connections, logger: deps.logger, ...projectorSettings(config) }));
    deps.logger.info('projector running');
    return { projector };
  });
}
