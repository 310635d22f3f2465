/** Which service answers a request: reads of orders, customers and invoices go to the query service. */
export type Upstream = 'command' | 'query';

const QUERY_READS = [
  /^\/api\/v1\/orders\/?$/,
  /^\/api\/v1\/orders\/[^/]+\/?$/,
  /^\/api\/v1\/orders\/[^/]+\/events\/?$/,
  /^\/api\/v1\/customers\//,
  /^\/api\/v1\/invoices\//,
  /^\/api\/v1\/orders\/[^/]+\/invoices\/?$/,
];

export function upstreamFor(method: string, path: string): Upstream {
  if ((method === 'GET' || method === 'HEAD') && QUERY_READS.some((route) => route.test(path))) return 'query';
  return 'command';
}

/**
 * Every route the API answers, as templates: the `route` label of its request metrics (a path that
 * matches none is counted as `unmatched`, never by its raw path). A route added to an app goes here too.
 */
export const API_ROUTES: readonly string[] = Object.freeze([
  '/health',
  '/health/live',
  '/health/ready',
  '/metrics',
  '/api/v1/admin/api-keys',
  '/api/v1/admin/api-keys/:key_id',
  '/api/v1/admin/dead-letters',
  '/api/v1/admin/dead-letters/:id/discard',
  '/api/v1/admin/dead-letters/:id/redrive',
  '/api/v1/admin/marketplaces/:marketplace_id',
  '/api/v1/admin/marketplaces/:marketplace_id/secrets',
  '/api/v1/admin/sagas',
  '/api/v1/carts',
  '/api/v1/carts/:cart_id',
  '/api/v1/channels/marketplace/:marketplace_id/orders',
  '/api/v1/customers/:customer_id/orders',
  '/api/v1/inventory/:sku',
  '/api/v1/inventory/:warehouse_id/:sku',
  '/api/v1/invoices/:invoice_id',
  '/api/v1/orders',
  '/api/v1/orders/batch',
  '/api/v1/orders/:order_id',
  '/api/v1/orders/:order_id/cancel',
  '/api/v1/orders/:order_id/events',
  '/api/v1/orders/:order_id/invoices',
  '/api/v1/orders/:order_id/refunds',
  '/api/v1/products/:sku',
  '/api/v1/warehouses/:warehouse_id',
  '/api/v1/webhooks',
  '/api/v1/webhooks/:webhook_id',
  '/api/v1/webhooks/:webhook_id/deliveries',
  '/api/v1/webhooks/:webhook_id/enable',
  '/api/v1/webhooks/:webhook_id/secrets',
]);
