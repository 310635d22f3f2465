import type { Queryable } from '../../platform/db.js';
import type { WarehouseBody } from '../schemas/catalog.js';
import type { CommandResult } from '../runCommand.js';

/** PUT /api/v1/warehouses/{warehouse_id}: creates (201) or replaces (200) a warehouse. */
export async function upsertWarehouse(tx: Queryable, warehouseId: string, body: WarehouseBody): Promise<CommandResult> {
  const result = await tx.query<{ inserted: boolean; created_at: Date; updated_at: Date }>(
    `INSERT INTO warehouses (warehouse_id, name, lat, lon, capacity_per_day, carriers, shipping_cost_per_kg)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (warehouse_id) DO UPDATE
       SET name = EXCLUDED.name, lat = EXCLUDED.lat, lon = EXCLUDED.lon,
           capacity_per_day = EXCLUDED.capacity_per_day, carriers = EXCLUDED.carriers,
           shipping_cost_per_kg = EXCLUDED.shipping_cost_per_kg, updated_at = now()
     RETURNING (xmax = 0) AS inserted, created_at, updated_at`,
    [
      warehouseId,
      body.name,
      body.location.lat,
      body.location.lon,
      body.capacity_per_day,
      body.carriers,
      body.shipping_cost_per_kg ?? 0,
    ],
  );
  const row = result.rows[0];
  if (row === undefined) throw new Error('upsert returned no row');
  return {
    status: row.inserted ? 201 : 200,
    headers: row.inserted ? { Location: `/api/v1/warehouses/${encodeURIComponent(warehouseId)}` } : {},
    body: {
      warehouse_id: warehouseId,
      name: body.name,
      location: body.location,
      capacity_per_day: body.capacity_per_day,
      carriers: body.carriers,
      shipping_cost_per_kg: body.shipping_cost_per_kg ?? 0,
      created_at: row.created_at.toISOString(),
      updated_at: row.updated_at.toISOString(),
    },
  };
}
