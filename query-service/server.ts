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
