import http from 'node:http';
import type { Express } from 'express';
import type { Pool } from '../platform/db.js';
import { createFastOrderRead } from './fastOrderRead.js';

/** The query service's request handler: the hot order read on node:http, everything else on the express app. */
export function createQueryHandler(pool: Pool, app: Express): http.RequestListener {
  const fastRead = createFastOrderRead(pool);
  return (req, res) => {
    fastRead(req, res).then(
      (answered) => answered || app(req, res),
      () => app(req, res),
    );
  };
}

/** The query service's HTTP server. */
export function createQueryServer(pool: Pool, app: Express): http.Server {
  const server = http.createServer(createQueryHandler(pool, app));
  server.keepAliveTimeout = 65_000;
  return server;
}

/** Listens and resolves with the bound port (0 picks a free one). */
export async function listenQueryServer(server: http.Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : port;
}
