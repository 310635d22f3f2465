import { Scope, type Principal } from '../platform/access.js';
import { problemFor, rawBodyOf } from '../platform/http.js';
import type { Pool } from '../platform/db.js';
import { problems } from '../platform/problem.js';
import type { IncomingMessage } from 'node:http';
import { verifyMarketplaceWebhook } from './handlers/marketplaces.js';
import type { PlacementRoute } from './placementRoute.js';
import type { CommandResult } from './runCommand.js';

/**
 * Orders that arrive other than one by one from a key's own client (contract §8): a point-of-sale's
 * offline batch, and a marketplace's signed webhook. Both go through the one placement route, so
 * through the same validation, the same group commit and the same Idempotency-Key store as single orders.
 */

/** At most this many orders in one POS batch (contract §8). */
export const POS_BATCH_MAX = 500;

interface BatchResult {
  readonly external_order_id: string | null;
  readonly status: number;
  readonly order_id?: string;
  readonly problem?: unknown;
}

/**
 * POST /api/v1/orders/batch: each order placed as its own POST /api/v1/orders would be, side by side
 * (they meet in the same flushes), its external_order_id its Idempotency-Key: the same batch sent again
 * places nothing twice and answers the same order ids. Results in the order sent.
 */
export async function placeBatch(
  placeOrder: PlacementRoute,
  request: { readonly path: string; readonly url: string; readonly body: unknown; readonly principal: Principal },
): Promise<CommandResult> {
  const body = request.body as { orders?: unknown } | undefined;
  const orders = body?.orders;
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !Array.isArray(orders))
    throw problems.validation([{ pointer: '/orders', detail: 'must be an array of order requests' }]);
  if (orders.length === 0 || orders.length > POS_BATCH_MAX)
    throw problems.validation([{ pointer: '/orders', detail: `must hold 1 to ${POS_BATCH_MAX} orders` }]);
  const extra = Object.keys(body).filter((k) => k !== 'orders');
  if (extra.length > 0)
    throw problems.validation(extra.map((k) => ({ pointer: `/${k}`, detail: 'is not a property of a batch' })));

  const results = await Promise.all(
    orders.map(async (order: unknown, i): Promise<BatchResult> => {
      const external = (order as { external_order_id?: unknown } | null)?.external_order_id;
      const externalOrderId = typeof external === 'string' ? external : null;
      try {
        if (externalOrderId === null)
          throw problems.validation([{ pointer: `/orders/${i}/external_order_id`, detail: 'is required in a batch' }]);
        const { response } = await placeOrder({
          method: 'POST',
          path: request.path,
          url: request.url,
          body: order,
          idempotencyKey: `external-order:${externalOrderId}`,
          principal: request.principal,
        });
        const placed = response.body as { order_id?: string };
        return {
          external_order_id: externalOrderId,
          status: response.status,
          ...(placed.order_id ? { order_id: placed.order_id } : {}),
        };
      } catch (error) {
        const problem = problemFor(error);
        return { external_order_id: externalOrderId, status: problem.status, problem: problem.toBody(request.url) };
      }
    }),
  );
  return { status: 200, body: { results } };
}

/**
 * POST /api/v1/channels/marketplace/{marketplace_id}/orders: a marketplace's order as a signed webhook.
 * The signature is the authentication (no API key); the webhook id is the Idempotency-Key, scoped to
 * the marketplace, so a repeated delivery answers as the first time and places nothing; the order's
 * external_order_id is required and unique within that marketplace.
 */
export async function placeMarketplaceOrder(
  pool: Pool,
  placeOrder: PlacementRoute,
  marketplaceId: string,
  req: IncomingMessage & { readonly path: string; readonly originalUrl: string; readonly body: unknown },
) {
  const webhookId = await verifyMarketplaceWebhook(pool, marketplaceId, req.headers, rawBodyOf(req));
  const body = req.body as { external_order_id?: unknown } | undefined;
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && typeof body.external_order_id !== 'string')
    throw problems.validation([{ pointer: '/external_order_id', detail: 'is required for a marketplace order' }]);
  const principal: Principal = {
    keyId: `marketplace:${marketplaceId}`,
    name: `marketplace ${marketplaceId}`,
    channel: 'marketplace',
    scopes: [Scope.ordersWrite],
    rateLimit: undefined,
  };
  return placeOrder({
    method: 'POST',
    path: req.path,
    url: req.originalUrl,
    body: req.body,
    idempotencyKey: webhookId,
    principal,
    referenceScope: `marketplace/${marketplaceId}`,
  });
}
