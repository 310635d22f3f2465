import { MAX_ORDER_AMOUNT, multiply } from './money.js';

export interface RequestedLine {
  readonly sku: string;
  readonly quantity: number;
}

export interface CatalogPrice {
  readonly sku: string;
  readonly price: number;
  readonly currency: string;
}

export interface PricedLine {
  readonly sku: string;
  readonly quantity: number;
  readonly unit_price: number;
  readonly line_total: number;
}

export type PricingRefusal =
  | { readonly kind: 'unknown-sku'; readonly skus: readonly string[] }
  | { readonly kind: 'currency-mismatch'; readonly currency: string; readonly skus: readonly string[] }
  | { readonly kind: 'amount-too-large'; readonly limit: number };

export type PricingOutcome =
  | { readonly ok: true; readonly currency: string; readonly lines: readonly PricedLine[]; readonly total: number }
  | { readonly ok: false; readonly refusal: PricingRefusal };

/** Lines naming the same SKU twice become one line with the quantities added, in first-seen order. */
export function mergeLines(lines: readonly RequestedLine[]): RequestedLine[] {
  const bySku = new Map<string, number>();
  for (const line of lines) bySku.set(line.sku, (bySku.get(line.sku) ?? 0) + line.quantity);
  return [...bySku].map(([sku, quantity]) => ({ sku, quantity }));
}

/**
 * Prices an order from the catalog: the server's prices, never the client's. The order's currency is
 * the one asked for, or else the catalog's when every product shares one; products priced in another
 * currency are refused (no conversion).
 */
export function priceOrder(
  requested: readonly RequestedLine[],
  catalog: ReadonlyMap<string, CatalogPrice>,
  currency?: string,
): PricingOutcome {
  const lines = mergeLines(requested);
  const unknown = lines.filter((l) => !catalog.has(l.sku)).map((l) => l.sku);
  if (unknown.length > 0) return { ok: false, refusal: { kind: 'unknown-sku', skus: unknown } };

  const entries = lines.map((l) => catalog.get(l.sku) as CatalogPrice);
  const orderCurrency = currency ?? entries[0]?.currency ?? 'USD';
  const foreign = entries.filter((e) => e.currency !== orderCurrency).map((e) => e.sku);
  if (foreign.length > 0) {
    return { ok: false, refusal: { kind: 'currency-mismatch', currency: orderCurrency, skus: foreign } };
  }

  const priced: PricedLine[] = [];
  let total = 0;
  for (const [index, line] of lines.entries()) {
    const entry = entries[index] as CatalogPrice;
    const lineTotal = multiply(entry.price, line.quantity);
    total += lineTotal;
    if (total > MAX_ORDER_AMOUNT) {
      return { ok: false, refusal: { kind: 'amount-too-large', limit: MAX_ORDER_AMOUNT } };
    }
    priced.push({ sku: line.sku, quantity: line.quantity, unit_price: entry.price, line_total: lineTotal });
  }
  return { ok: true, currency: orderCurrency, lines: priced, total };
}

export interface Shortage {
  readonly sku: string;
  readonly requested: number;
  readonly available: number;
}

/** Lines that no stock anywhere could fill: available is the sum over warehouses of on hand minus reserved. */
export function findShortages(lines: readonly RequestedLine[], availableBySku: ReadonlyMap<string, number>): Shortage[] {
  return lines
    .map((l) => ({ sku: l.sku, requested: l.quantity, available: availableBySku.get(l.sku) ?? 0 }))
    .filter((s) => s.available < s.requested);
}
