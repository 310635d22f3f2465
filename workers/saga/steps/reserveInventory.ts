import { OrderEventType } from '../../../domain/events.js';
import { PlacementStepId, RejectionReason, type ReserveResult } from '../../../domain/placementSaga.js';
import { allocateStock, type Allocation, type WarehouseStock } from '../../../domain/reservation.js';
import type { PoolClient } from '../../../platform/db.js';
import { uuidv7 } from '../../../platform/ids.js';
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
    const stock = await tx.query<{ sku: string; warehouse_id: string; available: number }>(
      'SELECT sku, warehouse_id, on_hand - reserved AS available FROM inventory WHERE sku = ANY($1::text[])',
      [skus],
    );
    // What is left per SKU and warehouse as the batch's orders take their share, in turn.
    const left = new Map<string, Map<string, number>>();
    for (const row of stock.rows) left.set(row.sku, (left.get(row.sku) ?? new Map()).set(row.warehouse_id, row.available));
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
 * The batch's reservations, as its transaction's last statement: locks the inventory rows in (sku,
 * warehouse) order — so concurrent batches never deadlock — checks that each still has what the batch
 * allocated from it, and takes it (reservations held, lines reserved), or changes nothing and raises
 * StockMoved (the whole transaction rolls back and the step runs again from a fresh read). Locks on hot
 * stock rows are held for one statement and the commit, and nothing is ever oversold.
 */
export async function takeReservedStock(tx: PoolClient, applied: AppliedSteps): Promise<void> {
  const taken: Array<Allocation & { readonly order_id: string }> = [];
  const orderIds: string[] = [];
  for (const { saga, steps } of applied) {
    const reserve = steps.get(PlacementStepId.reserveInventory)?.result as ReserveResult | undefined;
    if (reserve?.status !== 'succeeded') continue;
    orderIds.push(saga.order_id);
    for (const allocation of reserve.reservations) taken.push({ ...allocation, order_id: saga.order_id });
  }
  if (taken.length === 0) return;
  const result = await tx.query<{ taken: boolean }>(
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
       SELECT r, o, i, w, s, q
         FROM unnest($4::uuid[], $5::uuid[], $6::uuid[], $1::text[], $2::text[], $3::int[]) AS t(r, o, i, w, s, q), enough e
        WHERE e.ok
     ), lines AS (
       UPDATE order_items SET status = 'reserved' FROM enough e WHERE e.ok AND order_id = ANY($7::uuid[])
     )
     SELECT ok AS taken FROM enough`,
    [
      taken.map((a) => a.warehouse_id),
      taken.map((a) => a.sku),
      taken.map((a) => a.quantity),
      taken.map(() => uuidv7()),
      taken.map((a) => a.order_id),
      taken.map((a) => a.item_id),
      orderIds,
    ],
  );
  if (result.rows[0]?.taken !== true) throw new StockMoved();
}
