import { CarrierClient } from '../../platform/carrier.js';
import { loadConfig } from '../../platform/config.js';
import { poolFromConfig } from '../../platform/db.js';
import { runService } from '../../platform/service.js';
import { Tracker, trackerSettings } from './tracker.js';

/** The tracking aggregator process: polls the carriers for shipments on their way. */
await runService('tracking', async ({ logger, onStop }) => {
  const config = loadConfig();
  const pool = poolFromConfig(config, 'tracking');
  const carrier = new CarrierClient(config.carrierUrl, config.carrierTimeoutMs);
  carrier.breaker.on('open', () => logger.warn('carrier circuit breaker opened: tracking backs off'));
  carrier.breaker.on('close', () => logger.info('carrier circuit breaker closed'));
  const tracker = new Tracker({ pool, carrier, logger, ...trackerSettings(config) });
  tracker.start();
  logger.info({ carrier_url: config.carrierUrl }, 'tracker running');
  onStop(async () => {
    await tracker.stop();
    carrier.shutdown();
    await pool.end();
  });
});
