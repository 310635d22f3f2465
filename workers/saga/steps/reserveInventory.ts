import { OrderEventType } from '../../../domain/events.js';
import { PlacementStepId, RejectionReason, type PlacementSagaState, type ReserveResult } from '../../../domain/placementSaga.js';
import { allocateStock, type WarehouseStock } from '../../../domain/reservation.js';
import { uuidv7 } from '../../../platform/ids.js';
import type { SagaRecord } from '../sagaStore.js';
import { commitStep, type StepContext } from '../stepContext.js';

/**
 * Step 1: reserve stock for every line, in one transaction under row locks (saga row, then inventory
 * rows in (sku, warehouse) order, then the order row), so concurrent orders never oversell and never
 * deadlock. Recorded in step_results in the same transaction: a retry finds it and does nothing.
 */
export async function reserveInventory(context: StepContext, saga: SagaRecord): Promise<PlacementSagaState> {
  return commitStep(context, saga, PlacementStepId.reserveInventory, async (tx) => {
    const stock = await tx.query<{ sku: string; warehouse_id: string; available: number }>(
      `SELECT sku, warehouse_id, on_hand - reserved AS available FROM inventory
        WHERE sku IN (SELECT sku FROM order_items WHERE order_id = $1)
        ORDER BY sku, warehouse_id FOR UPDATE`,
      [saga.order_id],
    );
    const stockBySku = new Map<string, WarehouseStock[]>();
    for (const row of stock.rows) stockBySku.set(row.sku, [...(stockBySku.get(row.sku) ?? []), row]);
    const outcome = allocateStock(saga.items, stockBySku);
    const at = context.now().toISOString();
    if (!outcome.ok) {
      const result: ReserveResult = { status: 'failed', at, reason: RejectionReason.insufficientStock, shortages: outcome.shortages };
      return { result };
    }

    const allocations = outcome.allocations;
    await tx.query(
      `WITH wanted AS (
         SELECT warehouse_id, sku, sum(quantity)::int AS quantity
           FROM unnest($1::text[], $2::text[], $3::int[]) AS t(warehouse_id, sku, quantity)
          GROUP BY warehouse_id, sku
       ), taken AS (
         UPDATE inventory i SET reserved = i.reserved + w.quantity, updated_at = now()
           FROM wanted w WHERE i.warehouse_id = w.warehouse_id AND i.sku = w.sku
       ), held AS (
         INSERT INTO reservations (reservation_id, order_id, item_id, warehouse_id, sku, quantity)
         SELECT r, $5::uuid, i, w, s, q FROM unnest($4::uuid[], $6::uuid[], $1::text[], $2::text[], $3::int[]) AS t(r, i, w, s, q)
       )
       UPDATE order_items SET status = 'reserved' WHERE order_id = $5::uuid`,
      [
        allocations.map((a) => a.warehouse_id),
        allocations.map((a) => a.sku),
        allocations.map((a) => a.quantity),
        allocations.map(() => uuidv7()),
        saga.order_id,
        allocations.map((a) => a.item_id),
      ],
    );
    const result: ReserveResult = { status: 'succeeded', at, reservations: allocations };
    return {
      result,
      events: [{ type: OrderEventType.inventoryReserved, payload: { saga_id: saga.saga_id, reservations: allocations } }],
    };
  });
}
