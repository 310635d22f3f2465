/**
 * Allocating stock for an order's lines across warehouses. Pure: the caller locks the inventory rows
 * and passes what is available.
 */
export interface LineToReserve {
  readonly item_id: string;
  readonly sku: string;
  readonly quantity: number;
}

export interface WarehouseStock {
  readonly warehouse_id: string;
  readonly available: number;
}

export interface Allocation {
  readonly item_id: string;
  readonly sku: string;
  readonly warehouse_id: string;
  readonly quantity: number;
}

export type AllocationOutcome =
  | { readonly ok: true; readonly allocations: readonly Allocation[] }
  | { readonly ok: false; readonly shortages: ReadonlyArray<{ sku: string; requested: number; available: number }> };

/**
 * Each line is taken from the warehouse with the most stock available that can fill it alone; only
 * when none can, from several, largest first (fewest pieces). Ties go to the warehouse id, so the
 * result is deterministic. The router later moves reservations to the warehouses it chooses.
 */
export function allocateStock(
  lines: readonly LineToReserve[],
  stockBySku: ReadonlyMap<string, readonly WarehouseStock[]>,
): AllocationOutcome {
  const remaining = new Map<string, Map<string, number>>();
  for (const [sku, rows] of stockBySku) remaining.set(sku, new Map(rows.map((r) => [r.warehouse_id, Math.max(0, r.available)])));

  const allocations: Allocation[] = [];
  const shortages: Array<{ sku: string; requested: number; available: number }> = [];
  for (const line of lines) {
    const stock = remaining.get(line.sku) ?? new Map<string, number>();
    const total = [...stock.values()].reduce((a, b) => a + b, 0);
    if (total < line.quantity) {
      shortages.push({ sku: line.sku, requested: line.quantity, available: total });
      continue;
    }
    const ranked = [...stock.entries()]
      .filter(([, available]) => available > 0)
      .sort(([wa, a], [wb, b]) => b - a || (wa < wb ? -1 : wa > wb ? 1 : 0));
    const single = ranked.find(([, available]) => available >= line.quantity);
    const sources = single ? [single] : ranked;
    let needed = line.quantity;
    for (const [warehouseId, available] of sources) {
      if (needed === 0) break;
      const take = Math.min(available, needed);
      allocations.push({ item_id: line.item_id, sku: line.sku, warehouse_id: warehouseId, quantity: take });
      stock.set(warehouseId, available - take);
      needed -= take;
    }
  }
  return shortages.length > 0 ? { ok: false, shortages } : { ok: true, allocations };
}
