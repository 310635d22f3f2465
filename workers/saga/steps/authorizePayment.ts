import { OrderEventType } from '../../../domain/events.js';
import {
  nextRetry,
  PlacementStepId,
  RejectionReason,
  type AuthorizeResult,
  type Retrying,
} from '../../../domain/placementSaga.js';
import { withTransaction } from '../../../platform/db.js';
import { appendToOrder } from '../../../platform/eventStore.js';
import { uuidv7 } from '../../../platform/ids.js';
import { PspUnavailable } from '../../../platform/psp.js';
import { lockSaga, recordStep, type SagaRecord } from '../sagaStore.js';
import { leaseFrom, type StepContext } from '../stepContext.js';

/** The PSP idempotency key of a saga's authorization: every retry of the step sends the same one. */
export const authorizationKey = (sagaId: string) => `${sagaId}:${PlacementStepId.authorizePayment}`;

/**
 * Step 2a: authorize the order's total at the PSP. A retry sends the same Idempotency-Key, so the PSP
 * holds at most one authorization per saga. No answer (timeout, open breaker) is recorded as
 * `retrying` with a due time; the workflow gives up after the retry deadline.
 */
export async function authorizePayment(context: StepContext, saga: SagaRecord): Promise<void> {
  let outcome: Awaited<ReturnType<StepContext['psp']['authorize']>> | undefined;
  let unavailable: PspUnavailable | undefined;
  try {
    outcome = await context.psp.authorize({
      amount: saga.order.total_amount,
      currency: saga.order.currency,
      token: saga.order.token,
      reference: saga.saga_id,
      idempotencyKey: authorizationKey(saga.saga_id),
    });
  } catch (error) {
    if (!(error instanceof PspUnavailable)) throw error;
    unavailable = error;
  }

  await withTransaction(context.pool, async (tx) => {
    const state = await lockSaga(tx, saga.saga_id);
    const previous = state.steps.authorize_payment;
    if (previous !== undefined && previous.status !== 'retrying') return;
    const at = context.now();

    if (unavailable !== undefined || outcome === undefined) {
      const result = nextRetry(
        previous as Retrying | undefined,
        unavailable?.message ?? 'no answer',
        at,
        unavailable?.retryAfterMs,
      );
      await recordStep(tx, saga.saga_id, {
        step: PlacementStepId.authorizePayment,
        result,
        nextAttemptAt: new Date(result.next_attempt_at),
      });
      context.logger.warn(
        { saga_id: saga.saga_id, order_id: saga.order_id, attempts: result.attempts, err: unavailable },
        'PSP unavailable; authorization will be retried',
      );
      return;
    }
    if (outcome.kind === 'declined') {
      const result: AuthorizeResult = {
        status: 'failed',
        at: at.toISOString(),
        reason: RejectionReason.paymentDeclined,
        code: outcome.code,
      };
      await recordStep(tx, saga.saga_id, { step: PlacementStepId.authorizePayment, result, nextAttemptAt: leaseFrom(context) });
      await appendToOrder(tx, saga.order_id, [
        {
          type: OrderEventType.paymentDeclined,
          payload: { saga_id: saga.saga_id, amount: saga.order.total_amount, code: outcome.code },
        },
      ]);
      return;
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
    await recordStep(tx, saga.saga_id, { step: PlacementStepId.authorizePayment, result, nextAttemptAt: leaseFrom(context) });
    await appendToOrder(tx, saga.order_id, [
      {
        type: OrderEventType.paymentAuthorized,
        payload: {
          saga_id: saga.saga_id,
          payment_id: paymentId,
          authorization_id: outcome.authorizationId,
          amount: saga.order.total_amount,
          currency: saga.order.currency,
        },
      },
    ]);
  });
}
