import {
  CancellationStepId,
  nextCancellationAction,
  type CancellationAction,
  type CancellationState,
  type CancellationSteps,
  type OrderNow,
} from '../../domain/cancellationSaga.js';
import { OrderEventType } from '../../domain/events.js';
import { OrderStatus, SagaStatus } from '../../domain/order.js';
import { SagaType } from '../../domain/sagaType.js';
import { appendToOrder } from '../../store/eventStore.js';
import { lockOrder } from '../../store/orderLock.js';
import { currentFulfillmentStatus } from '../../store/orderProgress.js';
import { release } from '../../store/stock.js';
import { commitChangeStep, nowOf, waitForPsp, waitUntil, type ChangeSaga } from './changeSaga.js';
import type { ChangeContext, StepOutcome } from './changeContext.js';

/**
 * One step of the cancellation saga: what the order looks like now, read; the next action, asked of
 * the workflow (domain/cancellationSaga.ts); its effects, done here.
 */
export async function cancellationStep(context: ChangeContext, saga: ChangeSaga): Promise<StepOutcome> {
  // step_results as this workflow recorded them.
  const state: CancellationState = { status: saga.status, steps: saga.steps as CancellationSteps };
  const action = nextCancellationAction(state, await readOrder(context, saga), nowOf(context));
  switch (action.kind) {
    case 'await_placement':
      return recordPlacementOutcome(context, saga, action);
    case 'cancel_shipments':
      return requestShipmentCancels(context, saga, action);
    case 'release_stock':
      return releaseStock(context, saga, action);
    case 'void_authorization':
      return voidAuthorizations(context, saga);
    case 'finish':
      return finish(context, saga, action, state.steps.request?.reason ?? null);
    case 'wait':
      return waitUntil(context, saga, action);
    case 'done':
      return 'done';
    default:
      return assertNever(action);
  }
}

async function readOrder(context: ChangeContext, saga: ChangeSaga): Promise<OrderNow> {
  const [order, placement, shipments] = await Promise.all([
    context.pool.query<{ status: string }>(
      'SELECT status::text FROM orders WHERE order_id = $1 AND created_at = uuid7_time($1)',
      [saga.order_id],
    ),
    context.pool.query<{ running: boolean }>(
      `SELECT bool_or(status IN ('running', 'compensating')) AS running FROM sagas WHERE order_id = $1 AND saga_type = $2`,
      [saga.order_id, SagaType.placement],
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
  };
}

type Action<K extends CancellationAction['kind']> = Extract<CancellationAction, { kind: K }>;

/** Placement finished: recorded, and the saga ends here when the order has nothing left to cancel. */
function recordPlacementOutcome(context: ChangeContext, saga: ChangeSaga, action: Action<'await_placement'>) {
  return commitChangeStep(context, saga, CancellationStepId.awaitPlacement, async () => ({
    result: { status: 'succeeded', order_status: action.orderStatus, outcome: action.outcome },
    ...(action.outcome === 'nothing_to_cancel' ? { status: SagaStatus.completed } : {}),
  }));
}

/** The WMS is asked, over Kafka (`shipment.cancel_requested`), to cancel every open shipment. */
function requestShipmentCancels(context: ChangeContext, saga: ChangeSaga, action: Action<'cancel_shipments'>) {
  return commitChangeStep(context, saga, CancellationStepId.cancelShipments, async (tx) => {
    if (action.shipments.length > 0) {
      await appendToOrder(
        tx,
        saga.order_id,
        action.shipments.map((s) => ({
          type: OrderEventType.shipmentCancelRequested,
          payload: { saga_id: saga.saga_id, shipment_id: s.shipment_id, warehouse_id: s.warehouse_id },
        })),
      );
    }
    return { result: { status: 'succeeded', requested: action.shipments.map((s) => s.shipment_id) } };
  });
}

/** The stock still held goes back, and every unit that has not shipped is cancelled. */
function releaseStock(context: ChangeContext, saga: ChangeSaga, action: Action<'release_stock'>) {
  return commitChangeStep(context, saga, CancellationStepId.releaseStock, async (tx) => {
    await lockOrder(tx, saga.order_id);
    const released = await release(tx, [], { orderIds: [saga.order_id] });
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
      ...(released.length > 0 ? [{ type: OrderEventType.inventoryReleased, payload: { saga_id: saga.saga_id, released } }] : []),
      ...(action.shipped.length > 0 && cancelled.rows.length > 0 ? [{ type: OrderEventType.itemCancelled, payload }] : []),
    ];
    if (events.length > 0) await appendToOrder(tx, saga.order_id, events);
    return { result: { status: 'succeeded', released, cancelled: cancelled.rows } };
  });
}

/** Nothing shipped: the authorizations are voided at the PSP (asked again while it does not answer), then in our books. */
async function voidAuthorizations(context: ChangeContext, saga: ChangeSaga): Promise<StepOutcome> {
  const authorizations = await context.pool.query<{ authorization_code: string }>(
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
    return waitForPsp(context, saga, error);
  }
  return commitChangeStep(context, saga, CancellationStepId.voidAuthorization, async (tx) => {
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
}

/** `order.cancelled` when nothing shipped; else `order.cancellation_refused` names what shipped. */
function finish(context: ChangeContext, saga: ChangeSaga, action: Action<'finish'>, reason: string | null) {
  return commitChangeStep(context, saga, CancellationStepId.finish, async (tx) => {
    await lockOrder(tx, saga.order_id);
    if (action.shipped.length === 0) {
      const payload = { saga_id: saga.saga_id, reason, order_status: OrderStatus.cancelled };
      await appendToOrder(tx, saga.order_id, [{ type: OrderEventType.orderCancelled, payload }], {
        status: OrderStatus.cancelled,
      });
      return { result: { status: 'succeeded', outcome: 'cancelled' }, status: SagaStatus.completed };
    }
    const status = await currentFulfillmentStatus(tx, saga.order_id);
    const payload = { saga_id: saga.saga_id, shipped: action.shipped, order_status: status };
    await appendToOrder(tx, saga.order_id, [{ type: OrderEventType.orderCancellationRefused, payload }], { status });
    return {
      result: { status: 'succeeded', outcome: 'partially_cancelled', shipped: action.shipped },
      status: SagaStatus.completed,
    };
  });
}

function assertNever(action: never): never {
  throw new Error(`unknown cancellation action ${JSON.stringify(action)}`);
}
