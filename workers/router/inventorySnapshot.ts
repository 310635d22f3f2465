import type { Queryable } from '../../platform/db.js';

export interface SnapshotWarehouse {
  readonly warehouse_id: string;
  readonly lat: number;
  readonly lon: number;
  readonly capacity_per_day: number;
  readonly carriers: readonly string[];
  readonly shipping_cost_per_kg: number;
}

export interface InventorySnapshotData {
  readonly takenAt: number;
  readonly epoch: string;
  readonly warehouses: readonly SnapshotWarehouse[];
  /** Units free to allocate (on hand minus reserved), per warehouse, per SKU. */
  readonly available: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

/**
 * The router's cached view of warehouses and stock (contract §5: at most 30 s old), so a routing
 * decision costs no stock scan (the backlog, which every routed order changes, is counted live). Taken again when older than `refreshMs`, when the catalog epoch moved
 * (an admin changed a warehouse, a product or stock on hand), or when a caller asks for a fresh one
 * (its plan failed validation against live stock).
 */
export class InventorySnapshot {
  private current: InventorySnapshotData | undefined;
  private loading: Promise<InventorySnapshotData> | undefined;
  refreshes = 0;

  constructor(
    private readonly db: Queryable,
    private readonly refreshMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(options: { fresh?: boolean } = {}): Promise<InventorySnapshotData> {
    const current = this.current;
    if (!options.fresh && current !== undefined && this.now() - current.takenAt < this.refreshMs) {
      const epoch = await this.epoch();
      if (epoch === current.epoch) return current;
    }
    return this.refresh();
  }

  /** Replaces the snapshot (tests stage a stale one this way). */
  set(data: InventorySnapshotData): void {
    this.current = data;
  }

  private async epoch(): Promise<string> {
    const result = await this.db.query<{ epoch: string }>('SELECT last_value::text AS epoch FROM catalog_epoch');
    return result.rows[0]?.epoch ?? '0';
  }

  private refresh(): Promise<InventorySnapshotData> {
    // Concurrent orders needing a refresh share one.
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(): Promise<InventorySnapshotData> {
    const takenAt = this.now();
    const epoch = await this.epoch();
    const [warehouses, stock] = await Promise.all([
      this.db.query<SnapshotWarehouse>(
        `SELECT warehouse_id, lat, lon, capacity_per_day, carriers, shipping_cost_per_kg FROM warehouses ORDER BY warehouse_id`,
      ),
      this.db.query<{ warehouse_id: string; sku: string; available: number }>(
        'SELECT warehouse_id, sku, on_hand - reserved AS available FROM inventory WHERE on_hand > reserved',
      ),
    ]);
    const available = new Map<string, Map<string, number>>();
    for (const row of stock.rows) {
      let bySku = available.get(row.warehouse_id);
      if (bySku === undefined) available.set(row.warehouse_id, (bySku = new Map()));
      bySku.set(row.sku, row.available);
    }
    this.current = { takenAt, epoch, warehouses: warehouses.rows, available };
    this.refreshes++;
    return this.current;
  }
}
