import cluster from 'node:cluster';
import { loadConfig } from '../platform/config.js';
import { joinClusterMetrics, serveClusterMetrics } from '../platform/metrics.js';
import { runService } from '../platform/service.js';
import { start, startWorkers } from './service.js';

/**
 * The API process on PORT: the command and query apps in one process (api/service.ts), or with
 * API_WORKERS > 1 a primary that runs that many such processes sharing the port.
 */
if (cluster.isPrimary && loadConfig().apiWorkers > 1) {
  // METRICS_PORT then answers with every worker's metrics summed (PORT's /metrics is one worker's).
  serveClusterMetrics();
  await runService('api', startWorkers);
} else {
  if (cluster.isWorker) joinClusterMetrics();
  await runService('api', start);
}
