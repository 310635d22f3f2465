import cluster from 'node:cluster';
import { wireCommandService } from '../command-service/wiring.js';
import { queryHandler } from '../query-service/service.js';
import type { Config } from '../platform/config.js';
import { listen } from '../platform/http.js';
import { sendMetrics } from '../platform/metrics.js';
import { traceRequests } from '../platform/requestTrace.js';
import { routeLabeller } from '../platform/routeTemplates.js';
import type { RunningService, ServiceDeps, Started } from '../platform/wiring.js';
import { createDocsHandler } from './docs.js';
import { createOpsPageHandler } from './opsPage.js';
import { API_ROUTES, upstreamFor } from './routes.js';

/**
 * The API's one entry on PORT (8080): the command app (writes) and the query app (reads) in one process,
 * so a request is parsed once, by the app that answers it, with no proxy hop in between. It is a
 * composition root: it wires the two services' apps, which know nothing of each other.
 */
export async function start(config: Config, deps: ServiceDeps): Promise<Started<{ readonly port: number }>> {
  const { logger } = deps;
  const writes = wireCommandService(config, deps, 'api');
  // Reads go through the query service's server (its hot order read on node:http), the rest to the command app;
  // both check API keys with the one cache of this process (so a revocation here is seen by both at once).
  const reads = queryHandler(writes.pool, { keys: writes.keys, logger, limiter: writes.limiter });
  // The API description and the problem pages: open, answered here before any key is asked for.
  const docs = createDocsHandler();
  // The ops page (/ops): static and open; its script reads the admin API with the key the operator gives it.
  const ops = createOpsPageHandler();
  // Every answer is counted by route template (api/routes.ts), /metrics included; /metrics is open like /health.
  const route = routeLabeller(API_ROUTES);
  // The edge: traceparent / X-Request-Id taken or made, every request's log lines and events carrying them,
  // one access line and one observation of the request histogram per answer (platform/requestTrace).
  const server = await listen(
    traceRequests(
      (req, res) => {
        if (docs(req, res) || ops(req, res)) return;
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        if (path === '/metrics' && req.method === 'GET') void sendMetrics(res);
        else if (upstreamFor(req.method ?? 'GET', path) === 'query') reads(req, res);
        else writes.handler(req, res);
      },
      { logger, route, metrics: true },
    ),
    config.host,
    config.port,
  );
  logger.info({ port: server.port, host: config.host }, 'api listening');
  return {
    port: server.port,
    // Requests in flight (placements waiting for their flush included) are answered before the pool closes.
    async stop() {
      await server.close();
      await writes.close();
    },
  };
}

/** API_WORKERS > 1: that many API processes (each running `start`) sharing PORT; node:cluster hands each connection to one. */
export async function startWorkers(config: Config, deps: ServiceDeps): Promise<RunningService> {
  const { logger } = deps;
  let stopping = false;
  const fork = () =>
    cluster.fork().on('exit', (code, signal) => {
      if (stopping) return;
      logger.error({ code, signal }, 'api worker exited; starting another');
      setTimeout(() => !stopping && fork(), 500);
    });
  for (let i = 0; i < config.apiWorkers; i++) fork();
  logger.info({ port: config.port, workers: config.apiWorkers }, 'api workers started');
  return {
    async stop() {
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
      await Promise.all(
        workers.map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (worker.isDead()) resolve();
              else {
                worker.once('exit', () => resolve());
                worker.process.kill('SIGTERM');
              }
            }),
        ),
      );
    },
  };
}
