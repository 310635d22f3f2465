import type { Queryable } from '../../platform/db.js';
import { Problem, problems } from '../../platform/problem.js';
import type { InventoryBody } from '../schemas/catalog.js';
import type { CommandResult } from '../runCommand.js';

/**
 * PUT /api/v1/inventory/{warehouse_id}/{sku}: sets the stock on hand. Stock already reserved for orders
 * stays reserved, so on_hand may not drop below it (409 rather than overselling).
 */
export async function setInventory(tx: Queryable, warehouseId: string, sku: string, body: InventoryBody): Promise<CommandResult> {
  const known = await tx.query<{ warehouse: boolean; product: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM warehouses WHERE warehouse_id = $1) AS warehouse,
            EXISTS (SELECT 1 FROM products WHERE sku = $2) AS product`,
    [warehouseId, sku],
  );
  const row = known.rows[0];
  if (!row?.warehouse) throw problems.notFound('Warehouse', warehouseId);
  if (!row.product) throw problems.notFound('Product', sku);

  const result = await tx.query<{ on_hand: number; reserved: number }>(
    `INSERT INTO inventory (warehouse_id, sku, on_hand) VALUES ($1, $2, $3)
     ON CONFLICT (warehouse_id, sku) DO UPDATE
       SET on_hand = EXCLUDED.on_hand, updated_at = now()
       WHERE inventory.reserved <= EXCLUDED.on_hand
     RETURNING on_hand, reserved`,
    [warehouseId, sku, body.on_hand],
  );
  const updated = result.rows[0];
  if (updated === undefined) {
    const current = await tx.query<{ reserved: number }>('SELECT reserved FROM inventory WHERE warehouse_id = $1 AND sku = $2', [
      warehouseId,
      sku,
    ]);
    const reserved = current.rows[0]?.reserved ?? 0;
    throw new Problem(
      409,
      'inventory-below-reserved',
      'Stock on hand below reserved',
      `${reserved} unit(s) of ${sku} at ${warehouseId} are reserved for orders; on_hand cannot be set to ${body.on_hand}.`,
      { extensions: { reserved } },
    );
  }
  return {
    status: 200,
    body: {
      warehouse_id: warehouseId,
      sku,
      on_hand: updated.on_hand,
      reserved: updated.reserved,
      available: updated.on_hand - updated.reserved,
    },
  };
}
