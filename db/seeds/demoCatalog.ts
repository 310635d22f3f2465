import type { Queryable } from '../../platform/db.js';

/**
 * The demo catalog `npm start` loads into an empty catalog: 24 products and 4 warehouses at real
 * coordinates (US East, US West, Europe, Asia-Pacific), each holding a different part of the range so
 * that routing and splits have something to decide.
 */
export const demoProducts: ReadonlyArray<readonly [sku: string, name: string, price: number, weightGrams: number]> = [
  ['TSHIRT-BLK-M', 'T-shirt, black, M', 1999, 180],
  ['TSHIRT-WHT-L', 'T-shirt, white, L', 1999, 190],
  ['HOODIE-GRY-M', 'Hoodie, grey, M', 5499, 650],
  ['JEANS-IND-32', 'Jeans, indigo, 32', 7900, 700],
  ['SNEAKER-RUN-42', 'Running sneaker, EU 42', 11900, 900],
  ['SOCKS-3PK', 'Socks, 3 pack', 1299, 150],
  ['CAP-NAVY', 'Baseball cap, navy', 2499, 120],
  ['BACKPACK-20L', 'Backpack, 20 L', 6900, 850],
  ['BOTTLE-750', 'Steel bottle, 750 ml', 2900, 400],
  ['MUG-CERAMIC', 'Ceramic mug', 1490, 350],
  ['HEADPHONES-BT', 'Bluetooth headphones', 12900, 300],
  ['CHARGER-65W', 'USB-C charger, 65 W', 3900, 200],
  ['CABLE-USBC-2M', 'USB-C cable, 2 m', 1590, 80],
  ['KEYBOARD-MECH', 'Mechanical keyboard', 9900, 1100],
  ['MOUSE-WL', 'Wireless mouse', 3490, 110],
  ['LAMP-DESK', 'Desk lamp', 4590, 1300],
  ['NOTEBOOK-A5', 'Notebook, A5, dotted', 990, 250],
  ['PEN-GEL-10', 'Gel pens, 10 pack', 1190, 120],
  ['YOGA-MAT', 'Yoga mat', 3990, 1500],
  ['KETTLEBELL-8', 'Kettlebell, 8 kg', 4990, 8000],
  ['TENT-2P', 'Tent, 2 person', 18900, 2600],
  ['SLEEPBAG-3S', 'Sleeping bag, 3 season', 9900, 1400],
  ['COFFEE-1KG', 'Coffee beans, 1 kg', 2490, 1000],
  ['TEA-SAMPLER', 'Tea sampler', 1890, 300],
];

export const demoWarehouses: ReadonlyArray<{
  readonly id: string;
  readonly name: string;
  readonly lat: number;
  readonly lon: number;
  readonly capacityPerDay: number;
  readonly carriers: readonly string[];
  readonly costPerKg: number;
}> = [
  {
    id: 'WH-NJ',
    name: 'Edison, New Jersey',
    lat: 40.5187,
    lon: -74.4121,
    capacityPerDay: 5000,
    carriers: ['ups', 'fedex', 'usps'],
    costPerKg: 450,
  },
  {
    id: 'WH-CA',
    name: 'Ontario, California',
    lat: 34.0633,
    lon: -117.6509,
    capacityPerDay: 4000,
    carriers: ['ups', 'fedex', 'usps'],
    costPerKg: 480,
  },
  {
    id: 'WH-NL',
    name: 'Venlo, Netherlands',
    lat: 51.3704,
    lon: 6.1724,
    capacityPerDay: 3000,
    carriers: ['dhl', 'ups', 'postnl'],
    costPerKg: 520,
  },
  {
    id: 'WH-SG',
    name: 'Tuas, Singapore',
    lat: 1.3187,
    lon: 103.639,
    capacityPerDay: 2000,
    carriers: ['dhl', 'fedex'],
    costPerKg: 610,
  },
];

/** Stock per warehouse: every product somewhere, most in two or more places, a few in one only. */
function demoStock(skuIndex: number, warehouseIndex: number): number {
  if ((skuIndex + warehouseIndex) % 4 === 3) return 0;
  return 40 + ((skuIndex * 37 + warehouseIndex * 53) % 160);
}

/** Loads the demo catalog when the catalog is empty; returns whether it did. */
export async function seedDemoCatalog(db: Queryable): Promise<boolean> {
  const existing = await db.query('SELECT 1 FROM products LIMIT 1');
  if ((existing.rowCount ?? 0) > 0) return false;
  await db.query(
    `INSERT INTO products (sku, name, price, currency, weight_grams)
     SELECT sku, name, price, 'USD', weight FROM unnest($1::text[], $2::text[], $3::bigint[], $4::int[]) AS t(sku, name, price, weight)
     ON CONFLICT DO NOTHING`,
    [demoProducts.map((p) => p[0]), demoProducts.map((p) => p[1]), demoProducts.map((p) => p[2]), demoProducts.map((p) => p[3])],
  );
  for (const w of demoWarehouses) {
    await db.query(
      `INSERT INTO warehouses (warehouse_id, name, lat, lon, capacity_per_day, carriers, shipping_cost_per_kg)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [w.id, w.name, w.lat, w.lon, w.capacityPerDay, w.carriers, w.costPerKg],
    );
  }
  const rows: Array<[string, string, number]> = [];
  demoProducts.forEach(([sku], si) =>
    demoWarehouses.forEach((w, wi) => {
      const stock = demoStock(si, wi);
      if (stock > 0) rows.push([w.id, sku, stock]);
    }),
  );
  await db.query(
    `INSERT INTO inventory (warehouse_id, sku, on_hand)
     SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) ON CONFLICT DO NOTHING`,
    [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
  );
  return true;
}
