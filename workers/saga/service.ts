import type { Config } from '../../platform/config.js';
import type { PspClient } from '../../platform/psp.js';
import { pspClient, startService, streamConnections, type ServiceDeps, type Started } from '../../platform/wiring.js';
import { SagaWorker, sagaWorkerSettings } from './sagaWorker.js';

export interface SagaServiceDeps extends ServiceDeps {
  /** The PSP client; one of the service's own (from PSP_URL) when not given. */
  readonly psp?: PspClient;
  /** The saga clock (default: the wall clock). */
  readonly now?: () => Date;
}

/** The saga worker: the `saga` group on the order streams, the due-saga scheduler and the authorization sweep. */
export function start(config: Config, deps: SagaServiceDeps): Promise<Started<{ readonly worker: SagaWorker }>> {
  const { logger } = deps;
  return startService(async (shutdown) => {
    const { pool, reader, commands } = streamConnections(config, deps, 'saga-worker', shutdown);
    const psp = pspClient(config, deps.psp, shutdown, (made) => {
      made.breaker.on('open', () => logger.warn('PSP circuit breaker opened: sagas wait and retry'));
      made.breaker.on('halfOpen', () => logger.info('PSP circuit breaker half-open: trying the PSP again'));
      made.breaker.on('close', () => logger.info('PSP circuit breaker closed'));
    });
    const options = { pool, reader, commands, psp, logger, now: deps.now, ...sagaWorkerSettings(config) };
    const worker = await shutdown.start(new SagaWorker(options));
    logger.info({ consumer: worker.consumer.consumer }, 'saga worker running');
    return { worker };
  });
}
