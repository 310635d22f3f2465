import type http from 'node:http';
import express, { type Request, type Response } from 'express';
import type { Config } from '../platform/config.js';
import { discardDeadLetterIn, listDeadLetters, redriveDeadLetterIn, type RedriveTargets } from '../platform/deadLetters.js';
import type { Pool } from '../platform/db.js';
import { parseIfMatch } from '../platform/entityTags.js';
import { checkHealth, type HealthCheck } from '../platform/health.js';
import { jsonBody, param, problemHandler, routeNotFound } from '../platform/http.js';
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
import { createPlacementRoute, type PlacementRoute } from './placementRoute.js';
import { runCommand, send } from './runCommand.js';
import * as admin from './schemas/admin.js';
import * as catalog from './schemas/catalog.js';
import { checkMergedLines } from './schemas/common.js';
import * as orders from './schemas/orders.js';

export interface CommandServiceDeps {
  readonly pool: Pool;
  readonly config: Config;
  readonly logger: Logger;
  readonly healthChecks: Readonly<Record<string, HealthCheck>>;
  /** Puts a dead letter back on its source (Redis stream or Kafka topic); without it, re-drive answers 503. */
  readonly redrive?: RedriveTargets;
  /** Raised while placements queue up (platform/pressure); without it, the workers behind never slow down. */
  readonly pressure?: PressureSignal;
}

// Compiled once at start-up. Path parameters are checked like bodies, and reported by name.
const validate = Object.freeze({
  product: compileValidator<catalog.ProductBody>(catalog.productBody),
  warehouse: compileValidator<catalog.WarehouseBody>(catalog.warehouseBody),
  inventory: compileValidator<catalog.InventoryBody>(catalog.inventoryBody),
  cart: compileValidator<orders.CartBody>(orders.cartBody),
  skuParams: compileValidator<{ sku: string }>(catalog.skuParams, 'parameter'),
  warehouseParams: compileValidator<{ warehouse_id: string }>(catalog.warehouseParams, 'parameter'),
  inventoryParams: compileValidator<{ warehouse_id: string; sku: string }>(catalog.inventoryParams, 'parameter'),
  cartIdParams: compileValidator<{ cart_id: string }>(orders.cartIdParams, 'parameter'),
  orderIdParams: compileValidator<{ order_id: string }>(orders.orderIdParams, 'parameter'),
  cancelOrder: compileValidator<orders.CancelOrderBody>(orders.cancelOrderBody),
  refund: compileValidator<orders.RefundBody>(orders.refundBody),
  modifyOrder: compileValidator<orders.ModifyOrderBody>(orders.modifyOrderBody),
  sagaQuery: compileValidator<{ stuck?: string; limit?: string }>(
    {
      type: 'object',
      additionalProperties: false,
      properties: {
        stuck: { type: 'string', enum: ['true', 'false'] },
        limit: { type: 'string', pattern: '^(?:[1-9][0-9]{0,2}|1000)$' },
      },
    },
    'parameter',
  ),
  deadLetterQuery: compileValidator<admin.DeadLetterQuery>(admin.deadLetterQuery, 'parameter'),
  deadLetterParams: compileValidator<{ id: string }>(admin.deadLetterIdParams, 'parameter'),
});

/** A UUID path parameter in its canonical lower-case form (upper-case hex is taken on input; platform/ids). */
const idParam = (req: Request, name: string) => canonicalUuid(param(req, name));

/**
 * The write API's request handler: the node:http fast path for placements, and the express app for the
 * rest (and every placement the fast path leaves to it), both placing through one group-commit queue.
 */
export function createCommandHandler(deps: CommandServiceDeps): http.RequestListener {
  const placeOrder = createPlacementRoute(deps.pool, deps.config, deps.logger, deps.pressure);
  const app = createCommandApp(deps, placeOrder);
  const fast = createFastPlacement(placeOrder, deps.logger);
  return (req, res) => {
    if (!fast(req, res)) app(req, res);
  };
}

/** The write API (contract §2–§4). Routes stay thin: validate, then one handler in one transaction. */
export function createCommandApp(deps: CommandServiceDeps, placeOrder: PlacementRoute): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(jsonBody());

  const run = (req: Request, res: Response, work: Parameters<typeof runCommand>[3]) => runCommand(deps, req, res, work);
  app.get('/health', async (_req, res) => {
    const report = await checkHealth(deps.healthChecks);
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  });

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
    const body = validate.cart(req.body);
    checkMergedLines(body.items, '/items');
    await run(req, res, (tx) => createCart(tx, body));
  });

  app.get('/api/v1/carts/:cart_id', async (req, res) => {
    const { cart_id } = validate.cartIdParams({ cart_id: idParam(req, 'cart_id') });
    const cart = await getCart(deps.pool, cart_id);
    if (cart === undefined) throw problems.notFound('Cart', cart_id);
    res.json(cart);
  });

  app.post('/api/v1/orders', async (req, res) => {
    const { response, replayed } = await placeOrder({
      method: req.method,
      path: req.path,
      url: req.originalUrl,
      body: req.body,
      idempotencyKey: req.get('Idempotency-Key'),
    });
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    send(res, response);
  });

  app.post('/api/v1/orders/:order_id/cancel', async (req, res) => {
    const { order_id } = validate.orderIdParams({ order_id: idParam(req, 'order_id') });
    const body = validate.cancelOrder(req.body ?? {});
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
    await run(req, res, (tx) => modifyOrder(tx, order_id, condition, body, deps.config.sagaLeaseMs));
  });

  app.post('/api/v1/orders/:order_id/refunds', async (req, res) => {
    const { order_id } = validate.orderIdParams({ order_id: idParam(req, 'order_id') });
    const body = orders.canonicalRefund(validate.refund(req.body));
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

  app.use(routeNotFound);
  app.use(problemHandler(deps.logger));
  return app;
}
