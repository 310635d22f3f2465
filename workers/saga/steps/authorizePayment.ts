import { OrderEventType } from '../../../domain/events.js';
import { PlacementStepId, RejectionReason, type AuthorizeResult } from '../../../domain/placementSaga.js';
import { uuidv7 } from '../../../platform/ids.js';
import { forOrder } from '../../../platform/traceScope.js';
import { PspUnavailable, type AuthorizeOutcome } from '../../../platform/psp.js';
import type { SagaRecord } from '../sagaStore.js';
import { retryLater, type StepApplied, type StepApplyMany, type StepContext } from '../stepContext.js';

/** The PSP idempotency key of a saga's authorization: every retry of the step sends the same one. */
export const authorizationKey = (sagaId: string) => `${sagaId}:${PlacementStepId.authorizePayment}`;

/** What the PSP answered a saga's authorization request, or that it did not answer. */
export type AuthorizationAnswer = AuthorizeOutcome | PspUnavailable;

/**
 * Step 2, the partner call: authorize the order's total at the PSP. A retry sends the same
 * Idempotency-Key, so the PSP holds at most one authorization per saga. No answer within the PSP
 * client's timeout, or an open breaker, comes back as PspUnavailable, to be recorded as `retrying`:
 * a PSP that never answers holds its batch up for that timeout at most.
 */
export async function requestAuthorization(context: StepContext, saga: SagaRecord): Promise<AuthorizationAnswer> {
  try {
    // The call carries this order's traceparent / X-Request-Id (one order of the batch: platform/traceScope).
    return await forOrder(saga.order_id, () =>
      context.psp.authorize({
        amount: saga.order.total_amount,
        currency: saga.order.currency,
        token: saga.order.token,
        reference: saga.saga_id,
        idempotencyKey: authorizationKey(saga.saga_id),
      }),
    );
  } catch (error) {
    if (error instanceof PspUnavailable) return error;
    throw error;
  }
}

/**
 * Step 2, the record, for every saga of the batch that asked: the payment rows (one statement) and
 * `payment.authorized`, a decline, or a retry.
 */
export function applyAuthorizations(context: StepContext, answers: ReadonlyMap<string, AuthorizationAnswer>): StepApplyMany {
  return async (tx, targets) => {
    const at = context.now();
    const applied = new Map<string, StepApplied>();
    const payments: Array<{ payment_id: string; order_id: string; currency: string; amount: number; authorization_id: string }> =
      [];
    for (const { saga, state } of targets) {
      const outcome = answers.get(saga.saga_id);
      if (outcome === undefined) continue;
      if (outcome instanceof PspUnavailable) {
        const later = retryLater(context, state.steps.authorize_payment, outcome);
        context.logger.warn(
          { saga_id: saga.saga_id, order_id: saga.order_id, attempts: later.result.attempts, err: outcome },
          'PSP unavailable; authorization will be retried',
        );
        applied.set(saga.saga_id, later);
        continue;
      }
      if (outcome.kind === 'declined') {
        const result: AuthorizeResult = {
          status: 'failed',
          at: at.toISOString(),
          reason: RejectionReason.paymentDeclined,
          code: outcome.code,
        };
        const payload = { saga_id: saga.saga_id, amount: saga.order.total_amount, code: outcome.code };
        applied.set(saga.saga_id, { result, events: [{ type: OrderEventType.paymentDeclined, payload }] });
        continue;
      }
      const paymentId = uuidv7();
      payments.push({
        payment_id: paymentId,
        order_id: saga.order_id,
        currency: saga.order.currency,
        amount: saga.order.total_amount,
        authorization_id: outcome.authorizationId,
      });
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
      applied.set(saga.saga_id, { result, events: [{ type: OrderEventType.paymentAuthorized, payload }] });
    }
    if (payments.length > 0) {
      await tx.query(
        `INSERT INTO payments (payment_id, order_id, method, currency, amount, authorization_code, status)
         SELECT payment_id, order_id, 'card', currency, amount, authorization_code, 'authorized'
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::text[])
                AS t(payment_id, order_id, currency, amount, authorization_code)`,
        [
          payments.map((p) => p.payment_id),
          payments.map((p) => p.order_id),
          payments.map((p) => p.currency),
          payments.map((p) => p.amount),
          payments.map((p) => p.authorization_id),
        ],
      );
    }
    return applied;
  };
}
