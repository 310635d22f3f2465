import { OrderEventType } from '../../../domain/events.js';
import { PlacementStepId, RejectionReason, type ReserveResult } from '../../../domain/placementSaga.js';
import { allocateStock, type Allocation, type WarehouseStock } from '../../../domain/reservation.js';
import type { PoolClient } from '../../../platform/db.js';
import { uuidv7 } from '../../../platform/ids.js';
import { availableStock, reserve } from '../../../store/stock.js';
import type { AppliedSteps, StepApplied, StepApplyMany, StepContext } from '../stepContext.js';

/** Stock changed between the read and the reservation: the step is tried again from a fresh read. */
export class StockMoved extends Error {
  constructor() {
    super('stock changed while reserving; retrying from a fresh read');
    this.name = 'StockMoved';
  }
}

/**
 * Step 1, for every order of the batch at once: reserve stock for every line. The allocations
 * (domain/reservation) are decided from one read of the stock of every SKU in the batch, order after
 * order in batch order, each taking from what the ones before it left; an order that cannot be filled
 * is decided alone (insufficient stock) and takes nothing. The reservation itself is the transaction's
 * last statement (takeReservedStock), for the whole batch.
 */
export function reserveInventory(context: StepContext): StepApplyMany {
  return async (tx, targets) => {
    const skus = [...new Set(targets.flatMap(({ saga }) => saga.items.map((i) => i.sku)))];
    const stock = await availableStock(tx, skus);
    // What is left per SKU and warehouse as the batch's orders take their share, in turn.
    const left = new Map<string, Map<string, number>>();
    for (const row of stock) left.set(row.sku, (left.get(row.sku) ?? new Map()).set(row.warehouse_id, row.available));
    const at = context.now().toISOString();
    const applied = new Map<string, StepApplied>();
    for (const { saga } of targets) {
      const stockBySku = new Map<string, WarehouseStock[]>();
      for (const sku of new Set(saga.items.map((i) => i.sku))) {
        stockBySku.set(
          sku,
          [...(left.get(sku) ?? new Map<string, number>())].map(([warehouse_id, available]) => ({ warehouse_id, available })),
        );
      }
      const outcome = allocateStock(saga.items, stockBySku);
      if (!outcome.ok) {
        const result: ReserveResult = {
          status: 'failed',
          at,
          reason: RejectionReason.insufficientStock,
          shortages: outcome.shortages,
        };
        applied.set(saga.saga_id, { result });
        continue;
      }
      for (const a of outcome.allocations) {
        const warehouses = left.get(a.sku);
        warehouses?.set(a.warehouse_id, (warehouses.get(a.warehouse_id) ?? 0) - a.quantity);
      }
      const result: ReserveResult = { status: 'succeeded', at, reservations: outcome.allocations };
      const payload = { saga_id: saga.saga_id, reservations: outcome.allocations };
      applied.set(saga.saga_id, { result, events: [{ type: OrderEventType.inventoryReserved, payload }] });
    }
    return applied;
  };
}

/**
 * The batch's reservations, as its transaction's last statement (store/stock's reserve): the inventory
 * rows locked in (sku, warehouse) order, each checked to still have what the batch allocated from it,
 * and taken (reservations held, lines reserved); or nothing changes and StockMoved is raised (the whole
 * transaction rolls back and the step runs again from a fresh read). Nothing is ever oversold.
 */
export async function takeReservedStock(tx: PoolClient, applied: AppliedSteps): Promise<void> {
  const taken: Array<Allocation & { readonly order_id: string }> = [];
  const orderIds: string[] = [];
  for (const { saga, steps } of applied) {
    const reserved = steps.get(PlacementStepId.reserveInventory)?.result as ReserveResult | undefined;
    if (reserved?.status !== 'succeeded') continue;
    orderIds.push(saga.order_id);
    for (const allocation of reserved.reservations) taken.push({ ...allocation, order_id: saga.order_id });
  }
  if (taken.length === 0) return;
  const holds = taken.map((a) => ({ reservation_id: uuidv7(), order_id: a.order_id, item_id: a.item_id }));
  if (!(await reserve(tx, taken, { holds, reserveLinesOf: orderIds }))) throw new StockMoved();
}
