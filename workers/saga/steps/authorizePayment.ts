import { OrderEventType } from '../../../domain/events.js';
import { PlacementStepId, RejectionReason, type AuthorizeResult } from '../../../domain/placementSaga.js';
import { uuidv7 } from '../../../platform/ids.js';
import { PspUnavailable, type AuthorizeOutcome } from '../../../platform/psp.js';
import type { SagaRecord } from '../sagaStore.js';
import { retryLater, type StepApply, type StepContext } from '../stepContext.js';

/** The PSP idempotency key of a saga's authorization: every retry of the step sends the same one. */
export const authorizationKey = (sagaId: string) => `${sagaId}:${PlacementStepId.authorizePayment}`;

/**
 * Step 2a, the partner call: authorize the order's total at the PSP. A retry sends the same
 * Idempotency-Key, so the PSP holds at most one authorization per saga. No answer (timeout, open
 * breaker) comes back as PspUnavailable, to be recorded as `retrying`.
 */
export async function requestAuthorization(context: StepContext, saga: SagaRecord): Promise<AuthorizeOutcome | PspUnavailable> {
  try {
    return await context.psp.authorize({
      amount: saga.order.total_amount,
      currency: saga.order.currency,
      token: saga.order.token,
      reference: saga.saga_id,
      idempotencyKey: authorizationKey(saga.saga_id),
    });
  } catch (error) {
    if (error instanceof PspUnavailable) return error;
    throw error;
  }
}

/** Step 2a, the record: the payment row and `payment.authorized`, a decline, or a retry. */
export function applyAuthorization(
  context: StepContext,
  saga: SagaRecord,
  outcome: AuthorizeOutcome | PspUnavailable,
): StepApply {
  return async (tx, state) => {
    const at = context.now();
    if (outcome instanceof PspUnavailable) {
      const later = retryLater(context, state.steps.authorize_payment, outcome);
      context.logger.warn(
        { saga_id: saga.saga_id, order_id: saga.order_id, attempts: later.result.attempts, err: outcome },
        'PSP unavailable; authorization will be retried',
      );
      return later;
    }
    if (outcome.kind === 'declined') {
      const result: AuthorizeResult = {
        status: 'failed',
        at: at.toISOString(),
        reason: RejectionReason.paymentDeclined,
        code: outcome.code,
      };
      const payload = { saga_id: saga.saga_id, amount: saga.order.total_amount, code: outcome.code };
      return { result, events: [{ type: OrderEventType.paymentDeclined, payload }] };
    }
    const paymentId = uuidv7();
    await tx.query(
      `INSERT INTO payments (payment_id, order_id, method, currency, amount, authorization_code, status)
       VALUES ($1, $2, 'card', $3, $4, $5, 'authorized')`,
      [paymentId, saga.order_id, saga.order.currency, saga.order.total_amount, outcome.authorizationId],
    );
    const result: AuthorizeResult = {
      status: 'succeeded',
      at: at.toISOString(),
      payment_id: paymentId,
      authorization_id: outcome.authorizationId,
      amount: saga.order.total_amount,
      risk_level: outcome.riskLevel,
    };
    const payload = {
      saga_id: saga.saga_id,
      payment_id: paymentId,
      authorization_id: outcome.authorizationId,
      amount: saga.order.total_amount,
      currency: saga.order.currency,
    };
    return { result, events: [{ type: OrderEventType.paymentAuthorized, payload }] };
  };
}
