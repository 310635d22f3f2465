import type { Static } from '@sinclair/typebox';
import type { Queryable } from '../../platform/db.js';
import { problems } from '../../platform/problem.js';
import type { inventoryAnswer } from '../schemas/responses.js';

/** GET /api/v1/inventory/{sku}'s answer, as its schema (schemas/responses.ts) says. */
export type InventoryView = Static<typeof inventoryAnswer>;

/** GET /api/v1/inventory/{sku}: stock per warehouse and in total. */
export async function getInventory(db: Queryable, sku: string): Promise<InventoryView> {
  const result = await db.query<{ warehouse_id: string | null; on_hand: number | null; reserved: number | null }>(
    `SELECT i.warehouse_id, i.on_hand, i.reserved
       FROM products p LEFT JOIN inventory i ON i.sku = p.sku
      WHERE p.sku = $1
      ORDER BY i.warehouse_id`,
    [sku],
  );
  if (result.rows.length === 0) throw problems.notFound('Product', sku);
  const warehouses = result.rows
    .filter((r) => r.warehouse_id !== null)
    .map((r) => ({
      warehouse_id: r.warehouse_id as string,
      on_hand: r.on_hand ?? 0,
      reserved: r.reserved ?? 0,
      available: (r.on_hand ?? 0) - (r.reserved ?? 0),
    }));
  const sum = (pick: (w: (typeof warehouses)[number]) => number) => warehouses.reduce((acc, w) => acc + pick(w), 0);
  return {
    sku,
    warehouses,
    on_hand: sum((w) => w.on_hand),
    reserved: sum((w) => w.reserved),
    available: sum((w) => w.available),
  };
}
