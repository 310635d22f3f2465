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
