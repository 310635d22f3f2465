import { findShortages, priceOrder, type CatalogPrice, type PricedLine, type RequestedLine } from '../domain/pricing.js';
import type { Queryable } from '../platform/db.js';
import { Problem } from '../platform/problem.js';

export interface PricedOrder {
  readonly currency: string;
  readonly lines: readonly PricedLine[];
  readonly total: number;
  /** Stock on hand minus reserved, over all warehouses, per SKU of the order. */
  readonly availableBySku: ReadonlyMap<string, number>;
}

/** Prices and stock available in all warehouses, for a set of SKUs (one or many orders'). */
export interface CatalogRead {
  readonly prices: ReadonlyMap<string, CatalogPrice>;
  readonly availableBySku: ReadonlyMap<string, number>;
}

/** One query reads the prices and the stock available in all warehouses of every SKU asked for. */
export async function readCatalog(db: Queryable, skus: readonly string[]): Promise<CatalogRead> {
  const result = await db.query<CatalogPrice & { available: number }>(
    `SELECT p.sku, p.price, p.currency, coalesce(sum(i.on_hand - i.reserved), 0)::bigint AS available
       FROM products p LEFT JOIN inventory i ON i.sku = p.sku
      WHERE p.sku = ANY($1::text[]) GROUP BY p.sku`,
    [[...new Set(skus)]],
  );
  return {
    prices: new Map(result.rows.map((row) => [row.sku, row])),
    availableBySku: new Map(result.rows.map((row) => [row.sku, row.available])),
  };
}

/** Prices lines from the catalog (domain/pricing), in one read. */
export async function priceFromCatalog(db: Queryable, lines: readonly RequestedLine[], currency?: string): Promise<PricedOrder> {
  return priceLines(
    await readCatalog(
      db,
      lines.map((l) => l.sku),
    ),
    lines,
    currency,
  );
}

/** Prices lines from a catalog read, turning a refusal into a 422 that names the reason. */
export function priceLines(catalog: CatalogRead, lines: readonly RequestedLine[], currency?: string): PricedOrder {
  const outcome = priceOrder(lines, catalog.prices, currency);
  if (outcome.ok) return { ...outcome, availableBySku: catalog.availableBySku };
  const refusal = outcome.refusal;
  switch (refusal.kind) {
    case 'unknown-sku':
      throw new Problem(422, 'unknown-sku', 'Unknown SKU', `No product with SKU ${refusal.skus.join(', ')}.`, {
        extensions: { skus: refusal.skus },
      });
    case 'currency-mismatch':
      throw new Problem(
        422,
        'currency-mismatch',
        'Currency mismatch',
        `Product(s) ${refusal.skus.join(', ')} are not sold in ${refusal.currency}.`,
        { extensions: { skus: refusal.skus, currency: refusal.currency } },
      );
    case 'amount-too-large':
      throw new Problem(
        422,
        'amount-too-large',
        'Order total too large',
        `An order may total at most ${refusal.limit} minor units.`,
      );
    default: {
      const unreachable: never = refusal;
      throw new Error(`unknown refusal ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * Refuses at once an order that no warehouse stock could fill (409), so the client hears it now rather
 * than from a rejected saga. Advisory only: the saga's reservation under row locks is what decides.
 */
export function assertStockExists(order: PricedOrder): void {
  const shortages = findShortages(order.lines, order.availableBySku);
  if (shortages.length === 0) return;
  throw new Problem(
    409,
    'insufficient-stock',
    'Not enough stock',
    shortages.map((s) => `${s.sku}: ${s.requested} requested, ${s.available} available`).join('; '),
    { extensions: { shortages } },
  );
}
