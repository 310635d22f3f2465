import type { Queryable } from '../../platform/db.js';
import type { ProductBody } from '../schemas/catalog.js';
import type { CommandResult } from '../runCommand.js';

/** PUT /api/v1/products/{sku}: creates (201) or replaces (200) a catalog product. */
export async function upsertProduct(tx: Queryable, sku: string, body: ProductBody): Promise<CommandResult> {
  const result = await tx.query<{ inserted: boolean; created_at: Date; updated_at: Date }>(
    `INSERT INTO products (sku, name, price, currency, weight_grams)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (sku) DO UPDATE
       SET name = EXCLUDED.name, price = EXCLUDED.price, currency = EXCLUDED.currency,
           weight_grams = EXCLUDED.weight_grams, updated_at = now()
     RETURNING (xmax = 0) AS inserted, created_at, updated_at`,
    [sku, body.name, body.price, body.currency, body.weight_grams ?? 0],
  );
  const row = result.rows[0];
  if (row === undefined) throw new Error('upsert returned no row');
  return {
    status: row.inserted ? 201 : 200,
    headers: row.inserted ? { Location: `/api/v1/products/${encodeURIComponent(sku)}` } : {},
    body: {
      sku,
      name: body.name,
      price: body.price,
      currency: body.currency,
      weight_grams: body.weight_grams ?? 0,
      created_at: row.created_at.toISOString(),
      updated_at: row.updated_at.toISOString(),
    },
  };
}
