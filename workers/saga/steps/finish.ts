import { OrderEventType } from '../../../domain/events.js';
import { OrderStatus, SagaStatus } from '../../../domain/order.js';
import type { PlacementSagaState, RejectionReasonName } from '../../../domain/placementSaga.js';
import type { StepApplied, StepApplyMany, StepContext } from '../stepContext.js';

/** Last forward step, for every saga of the batch: the order is confirmed and the saga completed. */
export function applyConfirmations(context: StepContext): StepApplyMany {
  return async (_tx, targets) => {
    const applied = new Map<string, StepApplied>();
    for (const { saga, state } of targets) {
      const auth = state.steps.authorize_payment;
      const payload = {
        saga_id: saga.saga_id,
        total_amount: saga.order.total_amount,
        currency: saga.order.currency,
        payment_id: auth?.status === 'succeeded' ? auth.payment_id : null,
        fraud_check: state.steps.check_fraud?.status ?? null,
      };
      applied.set(saga.saga_id, {
        result: { status: 'succeeded', at: context.now().toISOString() },
        status: SagaStatus.completed,
        orderStatus: OrderStatus.confirmed,
        events: [{ type: OrderEventType.orderConfirmed, payload }],
      });
    }
    return applied;
  };
}

/**
 * After compensation, for every saga of the batch: the order is rejected with the reason the workflow
 * gives (`reasonOf`), its lines cancelled (one statement), and the saga failed.
 */
export function applyRejections(
  context: StepContext,
  reasonOf: (state: PlacementSagaState) => RejectionReasonName | undefined,
): StepApplyMany {
  return async (tx, targets) => {
    const applied = new Map<string, StepApplied>();
    for (const { saga, state } of targets) {
      const reason = reasonOf(state);
      if (reason === undefined) continue;
      applied.set(saga.saga_id, {
        result: { status: 'succeeded', at: context.now().toISOString(), reason },
        status: SagaStatus.failed,
        orderStatus: OrderStatus.rejected,
        events: [{ type: OrderEventType.orderRejected, payload: { saga_id: saga.saga_id, reason } }],
      });
    }
    const orderIds = targets.filter(({ saga }) => applied.has(saga.saga_id)).map(({ saga }) => saga.order_id);
    if (orderIds.length > 0) {
      await tx.query(
        `UPDATE order_items SET status = 'cancelled', quantity_cancelled = quantity WHERE order_id = ANY($1::uuid[])`,
        [orderIds],
      );
    }
    return applied;
  };
}
