import cluster from 'node:cluster';
import { loadConfig, type Config } from './config.js';
import { startHeartbeat } from './heartbeat.js';
import { createLogger } from './logger.js';
import { collectProcessMetrics, startMetricsServer } from './metrics.js';
import { createRedis } from './redis.js';
import { Shutdown, type RunningService, type ServiceDeps } from './wiring.js';

/** A service's one wiring (its `start`), shared by its main.ts and the test system. */
export type StartService = (config: Config, deps: ServiceDeps) => Promise<RunningService>;

/**
 * Runs one service process through its `start` (the wiring the test system starts too): a named pino logger, a clean stop on SIGINT/SIGTERM (bounded in time), and
 * an exit with status 1 on an error nobody handled, so the supervisor restarts the process rather than
 * leaving it half-alive. Every process also exposes its metrics (on METRICS_PORT when set) and, once
 * started, writes a heartbeat under its name to Redis for the API's readiness.
 */
export async function runService(name: string, start: StartService): Promise<void> {
  const logger = createLogger(name);
  const shutdown = new Shutdown();
  let stopping = false;

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const deadline = setTimeout(() => {
      logger.warn('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000);
    deadline.unref();
    await shutdown.run().catch((error: unknown) => logger.warn({ err: error }, 'a shutdown step failed'));
    logger.info('stopped');
    process.exit(0);
  };

  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled rejection');
    process.exit(1);
  });

  try {
    const config = loadConfig();
    collectProcessMetrics(name);
    // A node:cluster worker's metrics reach METRICS_PORT through its primary (serveClusterMetrics).
    if (config.metricsPort > 0 && cluster.isPrimary) {
      // A port taken (another instance on this host) costs the metrics, not the service: no crash loop.
      const server = await startMetricsServer(config.host, config.metricsPort, logger).catch((error: unknown) => {
        logger.error({ err: error, metrics_port: config.metricsPort }, 'metrics server could not listen; running without it');
        return undefined;
      });
      if (server !== undefined) shutdown.add(() => server.close());
    }
    const service = await start(config, { logger });
    shutdown.add(() => service.stop());
    // Beats only once the service runs; stopped first on shutdown, so readiness sees it leave at once.
    const redis = createRedis(config.redisUrl, `${name}-heartbeat`);
    const heartbeat = startHeartbeat(redis, config.redisPrefix, name, config.heartbeatIntervalMs, logger);
    shutdown.add(async () => {
      await heartbeat.stop();
      redis.disconnect();
    });
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    process.exit(1);
  }
}
