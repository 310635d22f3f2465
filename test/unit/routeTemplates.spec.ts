import http from 'node:http';
import { expect } from 'chai';
import type { Express } from 'express';
import { API_ROUTES } from '../../api/routes.js';
import { createCommandApp, type CommandServiceDeps } from '../../command-service/app.js';
import { createLogger } from '../../platform/logger.js';
import { testConfig } from '../support/env.js';
import { createQueryApp, type QueryServiceDeps } from '../../query-service/app.js';
import { metricsRegistry } from '../../platform/metrics.js';
import { traceRequests } from '../../platform/requestTrace.js';
import { routeLabeller, UNMATCHED_ROUTE } from '../../platform/routeTemplates.js';

describe('route templates: request metrics are labelled by route, never by raw path', () => {
  const label = routeLabeller(API_ROUTES);

  it('maps ids to the template of their route', () => {
    expect(label('/api/v1/orders/0190b7f2-8a3e-7c4d-9e1f-123456789abc')).to.equal('/api/v1/orders/:order_id');
    expect(label('/api/v1/orders/0190b7f2-8a3e-7c4d-9e1f-123456789abc/events?after_seq=3')).to.equal(
      '/api/v1/orders/:order_id/events',
    );
    expect(label('/api/v1/inventory/wh-1/SKU-42')).to.equal('/api/v1/inventory/:warehouse_id/:sku');
    expect(label('/api/v1/inventory/SKU-42')).to.equal('/api/v1/inventory/:sku');
    expect(label('/api/v1/customers/cust-7/orders')).to.equal('/api/v1/customers/:customer_id/orders');
  });

  it('prefers a literal segment to a parameter, and ignores a trailing slash and the query', () => {
    expect(label('/api/v1/orders/batch')).to.equal('/api/v1/orders/batch');
    expect(label('/api/v1/orders/')).to.equal('/api/v1/orders');
    expect(label('/api/v1/orders?status=confirmed&limit=5')).to.equal('/api/v1/orders');
    expect(label('/health/ready')).to.equal('/health/ready');
    expect(label('/metrics')).to.equal('/metrics');
  });

  it("knows every route of the command and query apps (a route added there goes into api/routes.ts' API_ROUTES)", () => {
    // The apps are only built, never called: no connection is needed.
    const logger = createLogger('test-routes', 'silent');
    const deps = { pool: {}, config: testConfig(), logger, healthChecks: {} };
    const routesOf = (app: Express) =>
      (app.router.stack as Array<{ route?: { path: string } }>).flatMap((layer) => (layer.route ? [layer.route.path] : []));
    const routes = [
      ...routesOf(createCommandApp(deps as unknown as CommandServiceDeps, (async () => undefined) as never)),
      ...routesOf(createQueryApp(deps as unknown as QueryServiceDeps)),
    ];
    expect(routes.length).to.be.greaterThan(30);
    for (const route of routes) expect(label(route.replace(/:[a-z_]+/g, 'x1')), route).to.equal(route);
  });

  it('counts every unknown path under one label, however many there are', () => {
    const unknown = ['/', '/api', '/api/v1/nope', '/api/v1/orders/x/y/z', '/wp-admin/setup.php', '/api/v1/orders/a/cancel/b'];
    for (const path of unknown) expect(label(path), path).to.equal(UNMATCHED_ROUTE);
  });

  it('observes a response by method, route template and status once it is sent', async () => {
    const server = http.createServer(
      traceRequests(
        (_req, res) => {
          res.statusCode = 404;
          res.end();
        },
        { logger: createLogger('route-templates-test', 'silent'), route: label, metrics: true },
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      await fetch(`http://127.0.0.1:${port}/api/v1/carts/cart-unit-route-1`);
      const text = await metricsRegistry.getSingleMetricAsString('oms_http_request_duration_seconds');
      expect(text).to.match(
        /oms_http_request_duration_seconds_count\{[^}]*method="GET",route="\/api\/v1\/carts\/:cart_id",status="404"[^}]*\} [1-9]/,
      );
      expect(text).not.to.include('cart-unit-route-1');
    } finally {
      server.close();
    }
  });
});
