import type { Queryable } from '../../platform/db.js';
import { uniqueId } from './env.js';

export interface TestCatalog {
  readonly skus: string[];
  readonly warehouses: string[];
}

/**
 * Creates products and warehouses of the test's own (unique ids) straight in SQL, with stock per
 * warehouse: stock[w][s] units of skus[s] at warehouses[w].
 */
export async function createCatalog(
  db: Queryable,
  options: { prices: number[]; stock: number[][]; currency?: string; locations?: Array<{ lat: number; lon: number }> },
): Promise<TestCatalog> {
  const skus = options.prices.map(() => uniqueId('SKU'));
  const warehouses = options.stock.map(() => uniqueId('WH'));
  await db.query(
    `INSERT INTO products (sku, name, price, currency, weight_grams)
     SELECT sku, 'Test ' || sku, price, $3, 500 FROM unnest($1::text[], $2::bigint[]) AS t(sku, price)`,
    [skus, options.prices, options.currency ?? 'USD'],
  );
  await db.query(
    `INSERT INTO warehouses (warehouse_id, name, lat, lon, capacity_per_day, carriers, shipping_cost_per_kg)
     SELECT id, 'Test ' || id, lat, lon, 1000, '{ups,dhl}', 400 FROM unnest($1::text[], $2::float8[], $3::float8[]) AS t(id, lat, lon)`,
    [
      warehouses,
      warehouses.map((_, w) => options.locations?.[w]?.lat ?? 40.0),
      warehouses.map((_, w) => options.locations?.[w]?.lon ?? -74.0),
    ],
  );
  for (const [w, row] of options.stock.entries()) {
    for (const [s, onHand] of row.entries()) {
      await db.query('INSERT INTO inventory (warehouse_id, sku, on_hand) VALUES ($1, $2, $3)', [warehouses[w], skus[s], onHand]);
    }
  }
  return { skus, warehouses };
}

/**
 * Two SKUs, each stocked (`units` of it) at a warehouse of its own and nowhere else: an order of both
 * splits into two shipments, skus[i] from warehouses[i].
 */
export function createSplitCatalog(
  db: Queryable,
  options: { prices?: readonly [number, number]; units?: number } = {},
): Promise<TestCatalog> {
  const units = options.units ?? 5;
  return createCatalog(db, {
    prices: [...(options.prices ?? [1500, 700])],
    stock: [
      [units, 0],
      [0, units],
    ],
  });
}

export const testAddress = Object.freeze({
  name: 'Ada Lovelace',
  line1: '12 St James Square',
  city: 'London',
  postal_code: 'SW1Y 4JH',
  country: 'GB',
});

export function orderBody(
  customerId: string,
  items: Array<{ sku: string; quantity: number }>,
  extra: Record<string, unknown> = {},
) {
  return {
    customer_id: customerId,
    channel: 'web',
    items,
    shipping_address: testAddress,
    payment_method: { type: 'card', token: 'tok_visa' },
    ...extra,
  };
}

/** A New York address with its coordinates, so routing distances are what a test says. */
export const newYorkAddress = Object.freeze({
  name: 'Grace Hopper',
  line1: '1 Broadway',
  city: 'New York',
  postal_code: '10004',
  country: 'US',
  lat: 40.7,
  lon: -74.0,
});
