import http from 'node:http';
import { loadConfig } from '../platform/config.js';
import { runService } from '../platform/service.js';
import { upstreamFor } from './routes.js';

/**
 * The API's single entry on PORT (8080): a small reverse proxy that sends writes to the command service
 * and order reads to the query service, so clients see one API. `/health` is the command service's,
 * which checks PostgreSQL, Redis and Kafka, and fails while the query service does not answer.
 */
await runService('gateway', async ({ logger, onStop }) => {
  const config = loadConfig();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const upstreams = {
    command: { host: config.commandHost, port: config.commandPort },
    query: { host: config.queryHost, port: config.queryPort },
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, target: { host: string; port: number }) => {
    const upstream = http.request({ ...target, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (error) => {
      logger.warn({ err: error, upstream: target }, 'upstream unavailable');
      if (!res.headersSent) {
        res.writeHead(503, { 'Content-Type': 'application/problem+json' });
        res.end(
          JSON.stringify({
            type: '/problems/service-unavailable',
            title: 'Service unavailable',
            status: 503,
            detail: 'A service behind the API does not answer; retry.',
          }),
        );
      } else res.destroy();
    });
    req.pipe(upstream);
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/health') {
      http
        .get({ ...upstreams.query, path: '/health', agent }, (answer) => {
          answer.resume();
          if (answer.statusCode === 200) forward(req, res, upstreams.command);
          else {
            res.writeHead(503, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify({ status: 'unavailable', dependencies: { 'query-service': { status: 'down' } } }));
          }
        })
        .on('error', () => {
          res.writeHead(503, { 'Content-Type': 'application/json' });
          res.end(
            JSON.stringify({ status: 'unavailable', dependencies: { 'query-service': { status: 'down', detail: 'no answer' } } }),
          );
        });
      return;
    }
    forward(req, res, upstreams[upstreamFor(req.method ?? 'GET', path)]);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  logger.info({ port: config.port, upstreams }, 'gateway listening');
  onStop(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    agent.destroy();
  });
});
