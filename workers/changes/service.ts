import type { Config } from '../../platform/config.js';
import type { PspClient } from '../../platform/psp.js';
import { pspClient, startService, streamConnections, type ServiceDeps, type Started } from '../../platform/wiring.js';
import { ChangesWorker, changesWorkerSettings } from './changesWorker.js';

/** The changes worker (cancellations, edits, refunds); `psp`: the PSP client, else its own from PSP_URL. */
export function start(
  config: Config,
  deps: ServiceDeps & { readonly psp?: PspClient },
): Promise<Started<{ readonly worker: ChangesWorker }>> {
  return startService(async (shutdown) => {
    const connections = streamConnections(config, deps, 'changes', shutdown);
    const psp = pspClient(config, deps.psp, shutdown);
    const worker = await shutdown.start(
      new ChangesWorker({ ...connections, psp, logger: deps.logger, ...changesWorkerSettings(config) }),
    );
    deps.logger.info({ consumer: worker.consumer.consumer }, 'changes worker running');
    return { worker };
  });
}
