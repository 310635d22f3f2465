import { mergeLines } from '../../domain/pricing.js';
import type { Queryable } from '../../platform/db.js';
import { uuidv7 } from '../../platform/ids.js';
import { priceFromCatalog } from '../priceFromCatalog.js';
import type { CommandResult } from '../runCommand.js';
import type { CartBody } from '../schemas/orders.js';

/** POST /api/v1/carts: a priced basket an order can be placed from (prices are re-read at placement). */
export async function createCart(tx: Queryable, body: CartBody): Promise<CommandResult> {
  const lines = mergeLines(body.items);
  const priced = await priceFromCatalog(tx, lines, body.currency);
  const cartId = uuidv7();
  const result = await tx.query<{ created_at: Date }>(
    `INSERT INTO carts (cart_id, customer_id, channel, currency, items)
     VALUES ($1, $2, $3, $4, $5) RETURNING created_at`,
    [cartId, body.customer_id, body.channel, priced.currency, JSON.stringify(lines)],
  );
  return {
    status: 201,
    headers: { Location: `/api/v1/carts/${cartId}` },
    body: {
      cart_id: cartId,
      customer_id: body.customer_id,
      channel: body.channel,
      currency: priced.currency,
      status: 'open',
      items: priced.lines,
      total_amount: priced.total,
      created_at: result.rows[0]?.created_at.toISOString(),
    },
  };
}

/** GET /api/v1/carts/{cart_id}, priced at today's catalog prices. */
export async function getCart(db: Queryable, cartId: string): Promise<Record<string, unknown> | undefined> {
  const result = await db.query<{
    customer_id: string;
    channel: string;
    currency: string;
    items: Array<{ sku: string; quantity: number }>;
    status: string;
    order_id: string | null;
    created_at: Date;
  }>('SELECT customer_id, channel, currency, items, status, order_id, created_at FROM carts WHERE cart_id = $1', [cartId]);
  const cart = result.rows[0];
  if (cart === undefined) return undefined;
  const priced = await priceFromCatalog(db, cart.items, cart.currency);
  return {
    cart_id: cartId,
    customer_id: cart.customer_id,
    channel: cart.channel,
    currency: cart.currency,
    status: cart.status,
    order_id: cart.order_id,
    items: priced.lines,
    total_amount: priced.total,
    created_at: cart.created_at.toISOString(),
  };
}
