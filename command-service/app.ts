import type http from 'node:http';
import express, { type Request, type Response } from 'express';
import { createApiKey, listApiKeys, revokeApiKey } from '../platform/apiKeys.js';
import { Scope, seesChannel } from '../platform/access.js';
import { ApiKeyCache, guardApi, requirePrincipal, type RateLimiter } from '../platform/authentication.js';
import type { Config } from '../platform/config.js';
import { discardDeadLetterIn, listDeadLetters, redriveDeadLetterIn, type RedriveTargets } from '../platform/deadLetters.js';
import { withTransaction, type Pool } from '../platform/db.js';
import { parseIfMatch } from '../platform/entityTags.js';
import { serveHealth, type HealthCheck } from '../platform/health.js';
import { jsonBody, param, problemHandler, routeNotFound } from '../platform/http.js';
import { rejoinTraceScope } from '../platform/requestTrace.js';
import type { Logger } from '../platform/logger.js';
import type { PressureSignal } from '../platform/pressure.js';
import { canonicalUuid } from '../platform/ids.js';
import { Problem, problems } from '../platform/problem.js';
import { listStuckSagas } from '../store/sagaQueue.js';
import { compileValidator } from '../platform/validation.js';
import { createCart, getCart } from './handlers/createCart.js';
import { getInventory } from './handlers/getInventory.js';
import { setInventory } from './handlers/setInventory.js';
import { cancelOrder } from './handlers/cancelOrder.js';
import { modifyOrder } from './handlers/modifyOrder.js';
import { requestRefund } from './handlers/requestRefund.js';
import { upsertProduct } from './handlers/upsertProduct.js';
import { upsertWarehouse } from './handlers/upsertWarehouse.js';
import { createFastPlacement } from './fastPlacement.js';
import { checkOrderInChannel } from './orderAccess.js';
import { createPlacementRoute, withKeyChannel, type PlacementRoute } from './placementRoute.js';
import { runCommand, send } from './runCommand.js';
import * as admin from './schemas/admin.js';
import * as catalog from './schemas/catalog.js';
import { checkMergedLines } from './schemas/common.js';
import * as orders from './schemas/orders.js';
import * as webhooks from './schemas/webhooks.js';
import * as webhookHandlers from './handlers/webhooks.js';
import * as marketplaces from './handlers/marketplaces.js';
import * as marketplaceSchemas from './schemas/marketplaces.js';
import { placeBatch, placeMarketplaceOrder } from './channelOrders.js';
import { readOpsOverview, type OpsSources } from './opsOverview.js';

export interface CommandServiceDeps {
  readonly pool: Pool;
  readonly config: Config;
  readonly logger: Logger;
  readonly healthChecks: Readonly<Record<string, HealthCheck>>;
  /** Puts a dead letter back on its source (Redis stream or Kafka topic); without it, re-drive answers 503. */
  readonly redrive?: RedriveTargets;
  /** Raised while placements queue up (platform/pressure); without it, the workers behind never slow down. */
  readonly pressure?: PressureSignal;
  /** API key lookups, shared with the query service in one process; one of its own otherwise. */
  readonly keys?: ApiKeyCache;
  /** Per-key rate limits (platform/rateLimit); without it, no key is limited. */
  readonly limiter?: RateLimiter;
  /** The Redis of the streams and heartbeats, for the ops overview; without it, those parts answer null. */
  readonly ops?: OpsSources;
}

// Compiled once at start-up. Path parameters are checked like bodies, and reported by name. The types are
// the schemas' own (TypeBox's Static), so a schema and what the handler reads cannot drift apart.
const validate = Object.freeze({
  product: compileValidator(catalog.productBody),
  warehouse: compileValidator(catalog.warehouseBody),
  inventory: compileValidator(catalog.inventoryBody),
  cart: compileValidator(orders.cartBody),
  skuParams: compileValidator(catalog.skuParams, 'parameter'),
  warehouseParams: compileValidator(catalog.warehouseParams, 'parameter'),
  inventoryParams: compileValidator(catalog.inventoryParams, 'parameter'),
  cartIdParams: compileValidator(orders.cartIdParams, 'parameter'),
  orderIdParams: compileValidator(orders.orderIdParams, 'parameter'),
  cancelOrder: compileValidator(orders.cancelOrderBody),
  refund: compileValidator(orders.refundBody),
  modifyOrder: compileValidator(orders.modifyOrderBody),
  sagaQuery: compileValidator(admin.sagaQuery, 'parameter'),
  marketplace: compileValidator(marketplaceSchemas.marketplaceBody),
  marketplaceParams: compileValidator(marketplaceSchemas.marketplaceParams, 'parameter'),
  webhook: compileValidator(webhooks.webhookBody),
  webhookParams: compileValidator(webhooks.webhookIdParams, 'parameter'),
  deliveriesQuery: compileValidator(webhooks.deliveriesQuery, 'parameter'),
  deadLetterQuery: compileValidator(admin.deadLetterQuery, 'parameter'),
  deadLetterParams: compileValidator(admin.deadLetterIdParams, 'parameter'),
  apiKey: compileValidator(admin.apiKeyBody),
  apiKeyParams: compileValidator(admin.apiKeyIdParams, 'parameter'),
});

/** A UUID path parameter in its canonical lower-case form (upper-case hex is taken on input; platform/ids). */
const idParam = (req: Request, name: string) => canonicalUuid(param(req, name));

/**
 * The write API's request handler: the node:http fast path for placements, and the express app for the
 * rest (and every placement the fast path leaves to it), both placing through one group-commit queue.
 */
export function createCommandHandler(deps: CommandServiceDeps): http.RequestListener {
  const keys = deps.keys ?? ApiKeyCache.forDatabase(deps.pool, deps.config.apiKeyCacheMs);
  const placeOrder = createPlacementRoute(deps.pool, deps.config, deps.logger, deps.pressure);
  const app = createCommandApp({ ...deps, keys }, placeOrder);
  const fast = createFastPlacement(placeOrder, deps.logger);
  // Every request, the fast path's included, passes the API key gate first (contract §8).
  return guardApi(
    (req, res) => {
      if (!fast(req, res)) app(req, res);
    },
    { keys, logger: deps.logger, ...(deps.limiter === undefined ? {} : { limiter: deps.limiter }) },
  );
}

/** The write API (contract §2–§4). Routes stay thin: validate, then one handler in one transaction. */
export function createCommandApp(deps: CommandServiceDeps, placeOrder: PlacementRoute): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(jsonBody());
  // What follows the body parser runs in the request's trace scope again (platform/requestTrace).
  app.use(rejoinTraceScope);

  const run = (req: Request, res: Response, work: Parameters<typeof runCommand>[3]) => runCommand(deps, req, res, work);
  serveHealth(app, deps.healthChecks);

  app.put('/api/v1/products/:sku', async (req, res) => {
    const { sku } = validate.skuParams({ sku: param(req, 'sku') });
    const body = validate.product(req.body);
    await run(req, res, (tx) => upsertProduct(tx, sku, body));
  });

  app.put('/api/v1/warehouses/:warehouse_id', async (req, res) => {
    const { warehouse_id } = validate.warehouseParams({ warehouse_id: param(req, 'warehouse_id') });
    const body = validate.warehouse(req.body);
    await run(req, res, (tx) => upsertWarehouse(tx, warehouse_id, body));
  });

  app.put('/api/v1/inventory/:warehouse_id/:sku', async (req, res) => {
    const { warehouse_id, sku } = validate.inventoryParams({
      warehouse_id: param(req, 'warehouse_id'),
      sku: param(req, 'sku'),
    });
    const body = validate.inventory(req.body);
    await run(req, res, (tx) => setInventory(tx, warehouse_id, sku, body));
  });

  app.get('/api/v1/inventory/:sku', async (req, res) => {
    const { sku } = validate.skuParams({ sku: param(req, 'sku') });
    res.json(await getInventory(deps.pool, sku));
  });

  app.post('/api/v1/carts', async (req, res) => {
    const body = validate.cart(withKeyChannel(requirePrincipal(req), req.body));
    checkMergedLines(body.items, '/items');
    await run(req, res, (tx) => createCart(tx, body));
  });

  app.get('/api/v1/carts/:cart_id', async (req, res) => {
    const { cart_id } = validate.cartIdParams({ cart_id: idParam(req, 'cart_id') });
    const cart = await getCart(deps.pool, cart_id);
    if (cart === undefined || !seesChannel(requirePrincipal(req), typeof cart.channel === 'string' ? cart.channel : null))
      throw problems.notFound('Cart', cart_id);
    res.json(cart);
  });

  app.post('/api/v1/orders', async (req, res) => {
    const { response, replayed } = await placeOrder({
      method: req.method,
      path: req.path,
      url: req.originalUrl,
      body: req.body,
      idempotencyKey: req.get('Idempotency-Key'),
      principal: requirePrincipal(req),
    });
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    send(res, response);
  });

  // A point-of-sale's offline batch: each order as its own POST would be, its external_order_id its key.
  app.post('/api/v1/orders/batch', async (req, res) => {
    send(
      res,
      await placeBatch(placeOrder, { path: req.path, url: req.originalUrl, body: req.body, principal: requirePrincipal(req) }),
    );
  });

  // A marketplace's order as a signed webhook (the signature authenticates it, not a key).
  app.post('/api/v1/channels/marketplace/:marketplace_id/orders', async (req, res) => {
    const { marketplace_id } = validate.marketplaceParams({ marketplace_id: param(req, 'marketplace_id') });
    const { response, replayed } = await placeMarketplaceOrder(deps.pool, placeOrder, marketplace_id, req);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    send(res, response);
  });

  app.post('/api/v1/orders/:order_id/cancel', async (req, res) => {
    const { order_id } = validate.orderIdParams({ order_id: idParam(req, 'order_id') });
    const body = validate.cancelOrder(req.body ?? {});
    await checkOrderInChannel(deps.pool, order_id, requirePrincipal(req));
    await run(req, res, (tx) => cancelOrder(tx, order_id, body, deps.config.sagaLeaseMs));
  });

  app.patch('/api/v1/orders/:order_id', async (req, res) => {
    const { order_id } = validate.orderIdParams({ order_id: idParam(req, 'order_id') });
    const ifMatch = req.get('If-Match');
    if (ifMatch === undefined) {
      throw new Problem(428, 'precondition-required', 'If-Match required', 'Send If-Match with the order version you read.');
    }
    const condition = parseIfMatch(ifMatch);
    if (condition === undefined) {
      throw problems.validation([
        { header: 'If-Match', detail: 'must be * or entity tags, such as the order\'s ETag or "<version>" (RFC 9110)' },
      ]);
    }
    const body = orders.canonicalEdit(validate.modifyOrder(req.body));
    orders.checkEdit(body);
    await checkOrderInChannel(deps.pool, order_id, requirePrincipal(req));
    await run(req, res, (tx) => modifyOrder(tx, order_id, condition, body, deps.config.sagaLeaseMs));
  });

  app.post('/api/v1/orders/:order_id/refunds', async (req, res) => {
    const { order_id } = validate.orderIdParams({ order_id: idParam(req, 'order_id') });
    const body = orders.canonicalRefund(validate.refund(req.body));
    await checkOrderInChannel(deps.pool, order_id, requirePrincipal(req));
    await run(req, res, (tx) => requestRefund(tx, order_id, body, deps.config.sagaLeaseMs));
  });

  app.get('/api/v1/admin/sagas', async (req, res) => {
    const query = validate.sagaQuery({ ...req.query });
    if (query.stuck !== 'true') {
      throw problems.validation([{ parameter: 'stuck', detail: 'only stuck=true listings exist for now' }]);
    }
    const sagas = await listStuckSagas(deps.pool, deps.config.sagaStuckAfterMs, Number(query.limit ?? 100));
    res.json({ stuck_after_ms: deps.config.sagaStuckAfterMs, sagas });
  });

  // The ops page's overview (api/opsPage.ts): what no other admin endpoint answers, in one read.
  app.get('/api/v1/admin/ops', async (_req, res) => {
    const overview = await readOpsOverview(deps.pool, deps.ops, {
      sagaStuckAfterMs: deps.config.sagaStuckAfterMs,
      heartbeatMaxAgeMs: deps.config.heartbeatMaxAgeMs,
    });
    res.setHeader('Cache-Control', 'no-store').json(overview);
  });

  app.put('/api/v1/admin/marketplaces/:marketplace_id', async (req, res) => {
    const { marketplace_id } = validate.marketplaceParams({ marketplace_id: param(req, 'marketplace_id') });
    const body = validate.marketplace(req.body);
    // Not idempotent by key: a stored answer would keep the secret (as API keys, decision 0013).
    send(res, await withTransaction(deps.pool, (tx) => marketplaces.upsertMarketplace(tx, marketplace_id, body)));
  });
  app.post('/api/v1/admin/marketplaces/:marketplace_id/secrets', async (req, res) => {
    const { marketplace_id } = validate.marketplaceParams({ marketplace_id: param(req, 'marketplace_id') });
    send(res, await withTransaction(deps.pool, (tx) => marketplaces.rotateMarketplaceSecret(tx, marketplace_id)));
  });

  // Outbound webhooks (contract §8): a client's subscriptions, their secrets and their deliveries.
  // A subscription belongs to the key that made it and sees its channel's orders; an admin key sees every one.
  const webhookOwner = (req: Request): webhookHandlers.WebhookOwner => {
    const principal = requirePrincipal(req);
    return { keyId: principal.keyId, seesAll: principal.scopes.includes(Scope.admin), channel: principal.channel };
  };
  const webhookId = (req: Request) => validate.webhookParams({ webhook_id: idParam(req, 'webhook_id') }).webhook_id;
  app.post('/api/v1/webhooks', async (req, res) => {
    const body = validate.webhook(req.body);
    await run(req, res, (tx) => webhookHandlers.createWebhook(tx, webhookOwner(req), body));
  });
  app.get('/api/v1/webhooks', async (req, res) => {
    res.json(await webhookHandlers.listWebhooks(deps.pool, webhookOwner(req)));
  });
  app.get('/api/v1/webhooks/:webhook_id', async (req, res) => {
    res.json(await webhookHandlers.getWebhook(deps.pool, webhookOwner(req), webhookId(req)));
  });
  app.delete('/api/v1/webhooks/:webhook_id', async (req, res) => {
    const id = webhookId(req);
    await run(req, res, (tx) => webhookHandlers.deleteWebhook(tx, webhookOwner(req), id));
  });
  app.post('/api/v1/webhooks/:webhook_id/secrets', async (req, res) => {
    const id = webhookId(req);
    await run(req, res, (tx) => webhookHandlers.rotateWebhookSecret(tx, webhookOwner(req), id));
  });
  app.post('/api/v1/webhooks/:webhook_id/enable', async (req, res) => {
    const id = webhookId(req);
    await run(req, res, (tx) => webhookHandlers.enableWebhook(tx, webhookOwner(req), id));
  });
  app.get('/api/v1/webhooks/:webhook_id/deliveries', async (req, res) => {
    const id = webhookId(req);
    const query = validate.deliveriesQuery({ ...req.query });
    res.json(await webhookHandlers.listDeliveries(deps.pool, webhookOwner(req), id, query));
  });

  // Dead letters (issue 11): what consumers gave up on, latest failure first; re-drive or discard one.
  app.get('/api/v1/admin/dead-letters', async (req, res) => {
    const query = validate.deadLetterQuery({ ...req.query });
    const letters = await listDeadLetters(deps.pool, {
      group: query.group,
      status: query.status,
      limit: Number(query.limit ?? 100),
    });
    res.json({ dead_letters: letters });
  });

  app.post('/api/v1/admin/dead-letters/:id/redrive', async (req, res) => {
    const { id } = validate.deadLetterParams({ id: param(req, 'id') });
    const targets = deps.redrive;
    if (targets === undefined) throw problems.unavailable('This process cannot re-drive dead letters (no Redis or Kafka).');
    await run(req, res, async (tx) => ({ status: 200, body: await redriveDeadLetterIn(tx, targets, id) }));
  });

  app.post('/api/v1/admin/dead-letters/:id/discard', async (req, res) => {
    const { id } = validate.deadLetterParams({ id: param(req, 'id') });
    await run(req, res, async (tx) => ({ status: 200, body: await discardDeadLetterIn(tx, id) }));
  });

  // API keys (contract §8), admin scope. The key is in the 201 answer only: creation is not replayed
  // by Idempotency-Key, since a stored response would keep the secret that is otherwise only hashed.
  app.post('/api/v1/admin/api-keys', async (req, res) => {
    const body = validate.apiKey(req.body);
    const created = await createApiKey(deps.pool, {
      name: body.name,
      channel: body.channel ?? null,
      scopes: body.scopes,
      ...(body.rate_limit === undefined
        ? {}
        : { rateLimit: { perSecond: body.rate_limit.per_second, burst: body.rate_limit.burst } }),
    });
    res.status(201).setHeader('Cache-Control', 'no-store').json(created);
  });

  app.get('/api/v1/admin/api-keys', async (_req, res) => {
    res.json({ api_keys: await listApiKeys(deps.pool) });
  });

  app.delete('/api/v1/admin/api-keys/:key_id', async (req, res) => {
    const { key_id } = validate.apiKeyParams({ key_id: param(req, 'key_id') });
    const revoked = await revokeApiKey(deps.pool, canonicalUuid(key_id));
    if (revoked === undefined) throw problems.notFound('API key', key_id);
    // This process refuses it at once; every other within API_KEY_CACHE_MS (their caches expire).
    deps.keys?.forget(revoked.key_id);
    res.json(revoked);
  });

  app.use(routeNotFound);
  app.use(problemHandler(deps.logger));
  return app;
}
