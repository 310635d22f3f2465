import { OrderEventType } from '../../domain/events.js';
import { AT_WAREHOUSE, LEFT_WAREHOUSE } from '../../domain/fulfillment.js';
import { OrderStatus, SagaStatus } from '../../domain/order.js';
import { appendToOrder } from '../../platform/eventStore.js';
import { currentFulfillmentStatus, lockOrder } from '../../platform/orderProgress.js';
import { releaseHeldReservations } from '../../platform/stock.js';
import { commitChangeStep, driveAgainIn, waitForPsp, type ChangeSaga } from './changeSaga.js';
import type { ChangeContext, StepOutcome } from './changeContext.js';

export const CancellationStep = Object.freeze({
  awaitPlacement: 'await_placement',
  cancelShipments: 'cancel_shipments',
  releaseStock: 'release_stock',
  voidAuthorization: 'void_authorization',
  finish: 'finish',
} as const);

const WAIT_FOR_PLACEMENT_MS = 200;
const WAIT_FOR_WMS_MS = 250;

interface CancellationState {
  readonly orderStatus: string;
  readonly placementRunning: boolean;
  readonly shipments: ReadonlyArray<{ shipment_id: string; warehouse_id: string; status: string }>;
  readonly reason: string | null;
}

async function readState(context: ChangeContext, saga: ChangeSaga): Promise<CancellationState> {
  const [order, placement, shipments] = await Promise.all([
    context.pool.query<{ status: string }>(
      'SELECT status::text FROM orders WHERE order_id = $1 AND created_at = uuid7_time($1)',
      [saga.order_id],
    ),
    context.pool.query<{ running: boolean }>(
      `SELECT bool_or(status IN ('running', 'compensating')) AS running FROM sagas WHERE order_id = $1 AND saga_type = 'placement'`,
      [saga.order_id],
    ),
    context.pool.query<{ shipment_id: string; warehouse_id: string; status: string }>(
      'SELECT shipment_id, warehouse_id, status FROM shipments WHERE order_id = $1 ORDER BY created_at',
      [saga.order_id],
    ),
  ]);
  return {
    orderStatus: order.rows[0]?.status ?? 'missing',
    placementRunning: placement.rows[0]?.running === true,
    shipments: shipments.rows,
    // Recorded with the saga by the cancel command.
    reason: (saga.steps.request as { reason?: string | null } | undefined)?.reason ?? null,
  };
}

/**
 * One step of the cancellation saga (contract §4, issue 6), chosen from what is recorded and what the
 * order looks like now:
 * 1. wait for the placement saga to finish (a rejected order has nothing left to cancel);
 * 2. ask the WMS, over Kafka (`shipment.cancel_requested`), to cancel every open shipment, and wait until
 *    each is cancelled or has left the warehouse — the WMS's own row lock decides a cancel racing a ship;
 * 3. release the stock still held and cancel every unit that has not shipped;
 * 4. if nothing shipped, void the authorization at the PSP (retried while it does not answer) and end
 *    `cancelled` with `order.cancelled`; if a shipment won the race, the rest stays cancelled and
 *    `order.cancellation_refused` names what shipped (its capture follows as for any shipment).
 */
export async function cancellationStep(context: ChangeContext, saga: ChangeSaga): Promise<StepOutcome> {
  const { pool, leaseMs } = context;
  const steps = saga.steps;
  const state = await readState(context, saga);

  if (steps[CancellationStep.awaitPlacement] === undefined) {
    if (state.placementRunning) {
      await driveAgainIn(pool, saga.saga_id, WAIT_FOR_PLACEMENT_MS);
      return 'waiting';
    }
    const nothingToCancel = state.orderStatus === OrderStatus.rejected || state.orderStatus === OrderStatus.cancelled;
    await commitChangeStep(pool, saga.saga_id, CancellationStep.awaitPlacement, leaseMs, async () => ({
      result: { status: 'succeeded', order_status: state.orderStatus, outcome: nothingToCancel ? 'nothing_to_cancel' : 'cancel' },
      ...(nothingToCancel ? { status: SagaStatus.completed } : {}),
    }));
    return 'progressed';
  }

  const open = state.shipments.filter((s) => AT_WAREHOUSE.includes(s.status));
  if (steps[CancellationStep.cancelShipments] === undefined) {
    await commitChangeStep(pool, saga.saga_id, CancellationStep.cancelShipments, leaseMs, async (tx) => {
      if (open.length > 0) {
        await appendToOrder(
          tx,
          saga.order_id,
          open.map((s) => ({
            type: OrderEventType.shipmentCancelRequested,
            payload: { saga_id: saga.saga_id, shipment_id: s.shipment_id, warehouse_id: s.warehouse_id },
          })),
        );
      }
      return { result: { status: 'succeeded', requested: open.map((s) => s.shipment_id) } };
    });
    return 'progressed';
  }
  if (open.length > 0) {
    await driveAgainIn(pool, saga.saga_id, WAIT_FOR_WMS_MS);
    return 'waiting';
  }

  const left = state.shipments.filter((s) => LEFT_WAREHOUSE.includes(s.status)).map((s) => s.shipment_id);
  if (steps[CancellationStep.releaseStock] === undefined) {
    await commitChangeStep(pool, saga.saga_id, CancellationStep.releaseStock, leaseMs, async (tx) => {
      await lockOrder(tx, saga.order_id);
      const released = await releaseHeldReservations(tx, 'order_id = $1', [saga.order_id]);
      const cancelled = await tx.query<{ item_id: string; sku: string; quantity: number }>(
        `WITH before AS (
           SELECT item_id, sku, quantity - quantity_shipped - quantity_cancelled AS quantity FROM order_items WHERE order_id = $1
         )
         UPDATE order_items i SET quantity_cancelled = i.quantity - i.quantity_shipped,
                status = CASE WHEN i.quantity_shipped = 0 THEN 'cancelled' ELSE i.status END
           FROM before b WHERE i.item_id = b.item_id AND b.quantity > 0
         RETURNING i.item_id, b.sku, b.quantity`,
        [saga.order_id],
      );
      const payload = { saga_id: saga.saga_id, released, items: cancelled.rows, reason: 'order_cancelled' };
      const events = [
        ...(released.length > 0
          ? [{ type: OrderEventType.inventoryReleased, payload: { saga_id: saga.saga_id, released } }]
          : []),
        ...(left.length > 0 && cancelled.rows.length > 0 ? [{ type: OrderEventType.itemCancelled, payload }] : []),
      ];
      if (events.length > 0) await appendToOrder(tx, saga.order_id, events);
      return { result: { status: 'succeeded', released, cancelled: cancelled.rows } };
    });
    return 'progressed';
  }

  if (left.length === 0 && steps[CancellationStep.voidAuthorization] === undefined) {
    const authorizations = await pool.query<{ authorization_code: string }>(
      `SELECT authorization_code FROM payments WHERE order_id = $1 AND status = 'authorized' AND authorization_code IS NOT NULL`,
      [saga.order_id],
    );
    const voided: string[] = [];
    try {
      for (const { authorization_code: id } of authorizations.rows) {
        const outcome = await context.psp.voidAuthorization(id, `${saga.saga_id}:void:${id}`);
        if (outcome.kind === 'refused')
          context.logger.error({ saga_id: saga.saga_id, order_id: saga.order_id }, 'PSP refused a void');
        else voided.push(id);
      }
    } catch (error) {
      return waitForPsp(pool, saga.saga_id, error);
    }
    await commitChangeStep(pool, saga.saga_id, CancellationStep.voidAuthorization, leaseMs, async (tx) => {
      await lockOrder(tx, saga.order_id);
      if (voided.length > 0) {
        await tx.query(
          `UPDATE payments SET status = 'voided', updated_at = now() WHERE order_id = $1 AND authorization_code = ANY($2)`,
          [saga.order_id, voided],
        );
        await appendToOrder(tx, saga.order_id, [
          { type: OrderEventType.paymentVoided, payload: { saga_id: saga.saga_id, authorization_ids: voided } },
        ]);
      }
      return { result: { status: 'succeeded', authorization_ids: voided } };
    });
    return 'progressed';
  }

  await commitChangeStep(pool, saga.saga_id, CancellationStep.finish, leaseMs, async (tx) => {
    await lockOrder(tx, saga.order_id);
    if (left.length === 0) {
      const payload = { saga_id: saga.saga_id, reason: state.reason, order_status: OrderStatus.cancelled };
      await appendToOrder(tx, saga.order_id, [{ type: OrderEventType.orderCancelled, payload }], {
        status: OrderStatus.cancelled,
      });
      return { result: { status: 'succeeded', outcome: 'cancelled' }, status: SagaStatus.completed };
    }
    const status = await currentFulfillmentStatus(tx, saga.order_id);
    const payload = { saga_id: saga.saga_id, shipped: left, order_status: status };
    await appendToOrder(tx, saga.order_id, [{ type: OrderEventType.orderCancellationRefused, payload }], { status });
    return { result: { status: 'succeeded', outcome: 'partially_cancelled', shipped: left }, status: SagaStatus.completed };
  });
  return 'done';
}
