import { OrderEventType } from '../../../domain/events.js';
import { PlacementStepId, RejectionReason, type ReserveResult } from '../../../domain/placementSaga.js';
import { allocateStock, type WarehouseStock } from '../../../domain/reservation.js';
import { withTransaction } from '../../../platform/db.js';
import { appendToOrder } from '../../../platform/eventStore.js';
import { uuidv7 } from '../../../platform/ids.js';
import { lockSaga, recordStep, type SagaRecord } from '../sagaStore.js';
import { leaseFrom, type StepContext } from '../stepContext.js';

/**
 * Step 1: reserve stock for every line, in one transaction under row locks (saga row, then inventory
 * rows in (sku, warehouse) order, then the order row), so concurrent orders never oversell and never
 * deadlock. Recorded in step_results in the same transaction: a retry finds it and does nothing.
 */
export async function reserveInventory(context: StepContext, saga: SagaRecord): Promise<void> {
  await withTransaction(context.pool, async (tx) => {
    const state = await lockSaga(tx, saga.saga_id);
    if (state.steps.reserve_inventory !== undefined) return;

    const lines = await tx.query<{ item_id: string; sku: string; quantity: number }>(
      'SELECT item_id, sku, quantity FROM order_items WHERE order_id = $1 ORDER BY line_no',
      [saga.order_id],
    );
    const skus = [...new Set(lines.rows.map((l) => l.sku))].sort();
    const stock = await tx.query<{ sku: string; warehouse_id: string; available: number }>(
      `SELECT sku, warehouse_id, on_hand - reserved AS available FROM inventory
        WHERE sku = ANY($1::text[]) ORDER BY sku, warehouse_id FOR UPDATE`,
      [skus],
    );
    const stockBySku = new Map<string, WarehouseStock[]>();
    for (const row of stock.rows) stockBySku.set(row.sku, [...(stockBySku.get(row.sku) ?? []), row]);
    const outcome = allocateStock(lines.rows, stockBySku);
    const at = context.now().toISOString();

    if (!outcome.ok) {
      const result: ReserveResult = {
        status: 'failed',
        at,
        reason: RejectionReason.insufficientStock,
        shortages: outcome.shortages,
      };
      await recordStep(tx, saga.saga_id, { step: PlacementStepId.reserveInventory, result, nextAttemptAt: leaseFrom(context) });
      return;
    }

    const allocations = outcome.allocations;
    await tx.query(
      `UPDATE inventory i SET reserved = i.reserved + a.quantity, updated_at = now()
         FROM (SELECT warehouse_id, sku, sum(quantity)::int AS quantity
                 FROM unnest($1::text[], $2::text[], $3::int[]) AS t(warehouse_id, sku, quantity)
                GROUP BY warehouse_id, sku) a
        WHERE i.warehouse_id = a.warehouse_id AND i.sku = a.sku`,
      [allocations.map((a) => a.warehouse_id), allocations.map((a) => a.sku), allocations.map((a) => a.quantity)],
    );
    await tx.query(
      `INSERT INTO reservations (reservation_id, order_id, item_id, warehouse_id, sku, quantity)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int[])`,
      [
        allocations.map(() => uuidv7()),
        allocations.map(() => saga.order_id),
        allocations.map((a) => a.item_id),
        allocations.map((a) => a.warehouse_id),
        allocations.map((a) => a.sku),
        allocations.map((a) => a.quantity),
      ],
    );
    await tx.query(`UPDATE order_items SET status = 'reserved' WHERE order_id = $1`, [saga.order_id]);
    const result: ReserveResult = { status: 'succeeded', at, reservations: allocations };
    await recordStep(tx, saga.saga_id, { step: PlacementStepId.reserveInventory, result, nextAttemptAt: leaseFrom(context) });
    await appendToOrder(tx, saga.order_id, [
      { type: OrderEventType.inventoryReserved, payload: { saga_id: saga.saga_id, reservations: allocations } },
    ]);
  });
}
