import { CarrierClient } from '../../platform/carrier.js';
import type { Config } from '../../platform/config.js';
import { poolFromConfig } from '../../platform/db.js';
import { startService, type ServiceDeps, type Started } from '../../platform/wiring.js';
import { Tracker, trackerSettings, type TrackerOptions } from './tracker.js';

/**
 * The tracking aggregator: polls the carrier (CARRIER_URL) for shipments on their way. `settings`: pacing
 * the configuration does not set (a test looks for due shipments more often).
 */
export function start(
  config: Config,
  deps: ServiceDeps & { readonly settings?: Pick<TrackerOptions, 'tickMs'> },
): Promise<Started<{ readonly tracker: Tracker }>> {
  const { logger } = deps;
  return startService(async (shutdown) => {
    const pool = shutdown.pool(deps.pool, () => poolFromConfig(config, 'tracking'));
    const carrier = new CarrierClient(config.carrierUrl, config.carrierTimeoutMs);
    shutdown.add(() => carrier.shutdown());
    carrier.breaker.on('open', () => logger.warn('carrier circuit breaker opened: tracking backs off'));
    carrier.breaker.on('close', () => logger.info('carrier circuit breaker closed'));
    const tracker = await shutdown.start(new Tracker({ pool, carrier, logger, ...trackerSettings(config), ...deps.settings }));
    logger.info({ carrier_url: config.carrierUrl }, 'tracker running');
    return { tracker };
  });
}
