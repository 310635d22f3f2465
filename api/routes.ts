import { API_ROUTES as ACCESS_ROUTES, SIGNED_ROUTES } from '../platform/access.js';

/** Which service answers a request: reads of orders, customers and invoices go to the query service. */
export type Upstream = 'command' | 'query';

const QUERY_READS = [
  /^\/api\/v1\/orders\/?$/,
  /^\/api\/v1\/orders\/[^/]+\/?$/,
  /^\/api\/v1\/orders\/[^/]+\/events\/?$/,
  /^\/api\/v1\/customers\//,
  /^\/api\/v1\/invoices\//,
  /^\/api\/v1\/orders\/[^/]+\/invoices\/?$/,
  /^\/api\/v1\/analytics\//,
];

export function upstreamFor(method: string, path: string): Upstream {
  if ((method === 'GET' || method === 'HEAD') && QUERY_READS.some((route) => route.test(path))) return 'query';
  return 'command';
}

/**
 * Every route the API answers, as templates: the `route` label of its request metrics (a path that
 * matches none is counted as `unmatched`, never by its raw path). Taken from the one route table of
 * platform/access (`{name}` becomes `:name`), plus the open endpoints (health, metrics, the API description, its reference page, the problem pages and the ops page).
 */
export const API_ROUTES: readonly string[] = Object.freeze(
  [
    ...new Set([
      '/health',
      '/health/live',
      '/health/ready',
      '/metrics',
      '/api/v1/openapi.json',
      '/docs',
      '/docs/:file',
      '/problems',
      '/problems/:slug',
      '/ops',
      '/ops/:file',
      ...[...ACCESS_ROUTES, ...SIGNED_ROUTES].map((route) => route.path.replace(/\{([a-z_]+)\}/g, ':$1')),
    ]),
  ].sort(),
);
