import http from 'node:http';
import type { Express } from 'express';
import { guardApi, type AuthGateOptions } from '../platform/authentication.js';
import type { Pool } from '../platform/db.js';
import { createFastOrderRead } from './fastOrderRead.js';

/**
 * The query service's request handler: the API key gate first (contract §8), then the hot order read
 * on node:http, everything else on the express app.
 */
export function createQueryHandler(pool: Pool, app: Express, auth: AuthGateOptions): http.RequestListener {
  const fastRead = createFastOrderRead(pool);
  return guardApi((req, res) => {
    fastRead(req, res).then(
      (answered) => answered || app(req, res),
      () => app(req, res),
    );
  }, auth);
}
