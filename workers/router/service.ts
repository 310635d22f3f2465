import type { Config } from '../../platform/config.js';
import { startService, streamConnections, type ServiceDeps, type Started } from '../../platform/wiring.js';
import { RouterWorker, routerWorkerSettings } from './routerWorker.js';

/** The fulfillment router: the `router` group on the order streams and the sweep of unrouted orders. */
export function start(config: Config, deps: ServiceDeps): Promise<Started<{ readonly worker: RouterWorker }>> {
  return startService(async (shutdown) => {
    const connections = streamConnections(config, deps, 'router', shutdown);
    const worker = await shutdown.start(
      new RouterWorker({ ...connections, logger: deps.logger, ...routerWorkerSettings(config) }),
    );
    deps.logger.info({ consumer: worker.consumer.consumer }, 'router running');
    return { worker };
  });
}
