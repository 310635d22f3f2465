import { OrderEventType } from '../../../domain/events.js';
import { OrderStatus, SagaStatus } from '../../../domain/order.js';
import type { RejectionReasonName } from '../../../domain/placementSaga.js';
import type { SagaRecord } from '../sagaStore.js';
import type { StepApply, StepContext } from '../stepContext.js';

/** Last forward step: the order is confirmed and the saga completed. */
export function applyConfirmation(context: StepContext, saga: SagaRecord): StepApply {
  return async (_tx, state) => {
    const auth = state.steps.authorize_payment;
    const payload = {
      saga_id: saga.saga_id,
      total_amount: saga.order.total_amount,
      currency: saga.order.currency,
      payment_id: auth?.status === 'succeeded' ? auth.payment_id : null,
      fraud_check: state.steps.check_fraud?.status ?? null,
    };
    return {
      result: { status: 'succeeded', at: context.now().toISOString() },
      status: SagaStatus.completed,
      orderStatus: OrderStatus.confirmed,
      events: [{ type: OrderEventType.orderConfirmed, payload }],
    };
  };
}

/** After compensation: the order is rejected with the reason, and the saga failed. */
export function applyRejection(context: StepContext, saga: SagaRecord, reason: RejectionReasonName): StepApply {
  return async (tx) => {
    await tx.query(`UPDATE order_items SET status = 'cancelled', quantity_cancelled = quantity WHERE order_id = $1`, [
      saga.order_id,
    ]);
    return {
      result: { status: 'succeeded', at: context.now().toISOString(), reason },
      status: SagaStatus.failed,
      orderStatus: OrderStatus.rejected,
      events: [{ type: OrderEventType.orderRejected, payload: { saga_id: saga.saga_id, reason } }],
    };
  };
}
