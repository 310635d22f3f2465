import { OrderEventType } from '../../../domain/events.js';
import { OrderStatus, SagaStatus } from '../../../domain/order.js';
import { PlacementStepId, type RejectionReasonName } from '../../../domain/placementSaga.js';
import { withTransaction } from '../../../platform/db.js';
import { appendToOrder } from '../../../platform/eventStore.js';
import { lockSaga, recordStep, type SagaRecord } from '../sagaStore.js';
import type { StepContext } from '../stepContext.js';

/** Last forward step: the order is confirmed and the saga completed, in one transaction. */
export async function confirmOrder(context: StepContext, saga: SagaRecord): Promise<void> {
  await withTransaction(context.pool, async (tx) => {
    const state = await lockSaga(tx, saga.saga_id);
    if (state.steps.confirm_order !== undefined) return;
    const auth = state.steps.authorize_payment;
    await recordStep(tx, saga.saga_id, {
      step: PlacementStepId.confirmOrder,
      result: { status: 'succeeded', at: context.now().toISOString() },
      status: SagaStatus.completed,
      nextAttemptAt: null,
    });
    await appendToOrder(
      tx,
      saga.order_id,
      [
        {
          type: OrderEventType.orderConfirmed,
          payload: {
            saga_id: saga.saga_id,
            total_amount: saga.order.total_amount,
            currency: saga.order.currency,
            payment_id: auth?.status === 'succeeded' ? auth.payment_id : null,
            fraud_check: state.steps.check_fraud?.status ?? null,
          },
        },
      ],
      { status: OrderStatus.confirmed },
    );
  });
}

/** After compensation: the order is rejected with the reason, and the saga failed. */
export async function rejectOrder(context: StepContext, saga: SagaRecord, reason: RejectionReasonName): Promise<void> {
  await withTransaction(context.pool, async (tx) => {
    const state = await lockSaga(tx, saga.saga_id);
    if (state.steps.reject_order !== undefined) return;
    await recordStep(tx, saga.saga_id, {
      step: PlacementStepId.rejectOrder,
      result: { status: 'succeeded', at: context.now().toISOString(), reason },
      status: SagaStatus.failed,
      nextAttemptAt: null,
    });
    await tx.query(`UPDATE order_items SET status = 'cancelled', quantity_cancelled = quantity WHERE order_id = $1`, [
      saga.order_id,
    ]);
    await appendToOrder(tx, saga.order_id, [{ type: OrderEventType.orderRejected, payload: { saga_id: saga.saga_id, reason } }], {
      status: OrderStatus.rejected,
    });
  });
}
