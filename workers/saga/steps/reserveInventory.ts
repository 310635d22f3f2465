import { OrderEventType } from '../../../domain/events.js';
import { PlacementStepId, RejectionReason, type PlacementSagaState, type ReserveResult } from '../../../domain/placementSaga.js';
import { allocateStock, type Allocation, type WarehouseStock } from '../../../domain/reservation.js';
import type { PoolClient } from '../../../platform/db.js';
import { uuidv7 } from '../../../platform/ids.js';
import type { SagaRecord } from '../sagaStore.js';
import { commitStep, type StepContext } from '../stepContext.js';

/** Stock changed between the read and the reservation: the step is tried again from a fresh read. */
export class StockMoved extends Error {
  constructor() {
    super('stock changed while reserving; retrying from a fresh read');
    this.name = 'StockMoved';
  }
}

/**
 * Step 1: reserve stock for every line. The allocation (domain/reservation) is decided from a read of
 * the stock; the reservation itself is the transaction's last statement, which locks the inventory
 * rows in (sku, warehouse) order — so concurrent orders never deadlock — checks that each still has
 * what was allocated, and takes it, or changes nothing and raises StockMoved (the whole transaction
 * rolls back and the step runs again). Locks on hot stock rows are held for one statement and the
 * commit, and nothing is ever oversold. Recorded in step_results in the same transaction.
 */
export async function reserveInventory(context: StepContext, saga: SagaRecord): Promise<PlacementSagaState> {
  return commitStep(context, saga, PlacementStepId.reserveInventory, async (tx) => {
    const stock = await tx.query<{ sku: string; warehouse_id: string; available: number }>(
      `SELECT sku, warehouse_id, on_hand - reserved AS available FROM inventory
        WHERE sku IN (SELECT sku FROM order_items WHERE order_id = $1)`,
      [saga.order_id],
    );
    const stockBySku = new Map<string, WarehouseStock[]>();
    for (const row of stock.rows) stockBySku.set(row.sku, [...(stockBySku.get(row.sku) ?? []), row]);
    const outcome = allocateStock(saga.items, stockBySku);
    const at = context.now().toISOString();
    if (!outcome.ok) {
      const result: ReserveResult = {
        status: 'failed',
        at,
        reason: RejectionReason.insufficientStock,
        shortages: outcome.shortages,
      };
      return { result };
    }
    const result: ReserveResult = { status: 'succeeded', at, reservations: outcome.allocations };
    return {
      result,
      events: [{ type: OrderEventType.inventoryReserved, payload: { saga_id: saga.saga_id, reservations: outcome.allocations } }],
      lastly: (last) => takeStock(last, saga.order_id, outcome.allocations),
    };
  });
}

async function takeStock(tx: PoolClient, orderId: string, allocations: readonly Allocation[]): Promise<void> {
  const taken = await tx.query<{ taken: boolean }>(
    `WITH wanted AS (
       SELECT warehouse_id, sku, sum(quantity)::int AS quantity
         FROM unnest($1::text[], $2::text[], $3::int[]) AS t(warehouse_id, sku, quantity)
        GROUP BY warehouse_id, sku
     ), locked AS (
       SELECT i.warehouse_id, i.sku, i.on_hand - i.reserved AS available
         FROM inventory i JOIN wanted w ON w.warehouse_id = i.warehouse_id AND w.sku = i.sku
        ORDER BY i.sku, i.warehouse_id
          FOR UPDATE OF i
     ), enough AS (
       SELECT count(*) = (SELECT count(*) FROM wanted) AND bool_and(l.available >= w.quantity) AS ok
         FROM wanted w JOIN locked l ON l.warehouse_id = w.warehouse_id AND l.sku = w.sku
     ), taken AS (
       UPDATE inventory i SET reserved = i.reserved + w.quantity, updated_at = now()
         FROM wanted w, enough e
        WHERE e.ok AND i.warehouse_id = w.warehouse_id AND i.sku = w.sku
     ), held AS (
       INSERT INTO reservations (reservation_id, order_id, item_id, warehouse_id, sku, quantity)
       SELECT r, $5::uuid, i, w, s, q
         FROM unnest($4::uuid[], $6::uuid[], $1::text[], $2::text[], $3::int[]) AS t(r, i, w, s, q), enough e
        WHERE e.ok
     ), lines AS (
       UPDATE order_items SET status = 'reserved' FROM enough e WHERE e.ok AND order_id = $5::uuid
     )
     SELECT ok AS taken FROM enough`,
    [
      allocations.map((a) => a.warehouse_id),
      allocations.map((a) => a.sku),
      allocations.map((a) => a.quantity),
      allocations.map(() => uuidv7()),
      orderId,
      allocations.map((a) => a.item_id),
    ],
  );
  if (taken.rows[0]?.taken !== true) throw new StockMoved();
}
