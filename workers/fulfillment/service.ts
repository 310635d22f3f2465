import type { Config } from '../../platform/config.js';
import { poolFromConfig } from '../../platform/db.js';
import { createKafka } from '../../platform/kafka.js';
import type { PspClient } from '../../platform/psp.js';
import { pspClient, startService, type ServiceDeps, type Started } from '../../platform/wiring.js';
import { FulfillmentWorker, fulfillmentSettings, type FulfillmentWorkerOptions } from './fulfillmentWorker.js';

export interface FulfillmentServiceDeps extends ServiceDeps {
  /** The PSP client; one of the service's own (from PSP_URL) when not given. */
  readonly psp?: PspClient;
  /** Pacing the configuration does not set (a test takes captures sooner). */
  readonly settings?: Pick<FulfillmentWorkerOptions, 'capturePollMs'>;
}

/** The fulfillment worker: WMS answers in, shipments, captures and invoices out. */
export function start(config: Config, deps: FulfillmentServiceDeps): Promise<Started<{ readonly worker: FulfillmentWorker }>> {
  return startService(async (shutdown) => {
    const psp = pspClient(config, deps.psp, shutdown);
    const worker = await shutdown.start(
      new FulfillmentWorker({
        pool: shutdown.pool(deps.pool, () => poolFromConfig(config, 'fulfillment')),
        kafka: deps.kafka ?? createKafka(config.kafkaBrokers, 'fulfillment'),
        psp,
        logger: deps.logger,
        ...fulfillmentSettings(config),
        ...deps.settings,
      }),
    );
    deps.logger.info({ topic: config.wmsEventsTopic, group: config.fulfillmentConsumerGroup }, 'fulfillment worker running');
    return { worker };
  });
}
