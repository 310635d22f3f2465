import { OrderEventType } from '../../../domain/events.js';
import { assessFraud } from '../../../domain/fraudRules.js';
import { nextRetry, PlacementStepId, RejectionReason, type FraudResult, type Retrying } from '../../../domain/placementSaga.js';
import { OrderStatus } from '../../../domain/order.js';
import { withTransaction } from '../../../platform/db.js';
import { appendToOrder } from '../../../platform/eventStore.js';
import { PspUnavailable, type RiskLevel } from '../../../platform/psp.js';
import { lockSaga, recordStep, type SagaRecord } from '../sagaStore.js';
import { leaseFrom, type StepContext } from '../stepContext.js';

const TRUSTED_STATUSES = [
  OrderStatus.confirmed,
  OrderStatus.processing,
  OrderStatus.partiallyShipped,
  OrderStatus.shipped,
  OrderStatus.delivered,
];

export const FAST_PATH_REASON = 'repeat customer with a previously confirmed order on this payment method';

/**
 * Step 2b, beside the authorization: score the order with the fraud rules (domain/fraudRules) from the
 * customer's velocity, the billing/shipping countries and the card's risk signal at the PSP. Fast path:
 * a customer who already has a confirmed order paid with the same card skips the check (`skipped`).
 */
export async function checkFraud(context: StepContext, saga: SagaRecord): Promise<void> {
  const { pool } = context;
  const trusted = await pool.query<{ trusted: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM orders
        WHERE customer_id = $1 AND order_id <> $2 AND status = ANY($3::order_status[])
          AND payment_method->>'token' = $4) AS trusted`,
    [saga.order.customer_id, saga.order_id, TRUSTED_STATUSES, saga.order.token],
  );

  let result: FraudResult | undefined;
  let unavailable: PspUnavailable | undefined;
  const at = context.now();
  if (trusted.rows[0]?.trusted) {
    result = { status: 'skipped', at: at.toISOString(), reason: FAST_PATH_REASON };
  } else {
    const velocity = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM orders WHERE customer_id = $1 AND created_at > $2::timestamptz - interval '1 hour'`,
      [saga.order.customer_id, at],
    );
    let cardRisk: RiskLevel | undefined;
    try {
      cardRisk = await context.psp.assessRisk(saga.order.token);
    } catch (error) {
      if (!(error instanceof PspUnavailable)) throw error;
      unavailable = error;
    }
    if (cardRisk !== undefined) {
      const assessment = assessFraud({
        amount: saga.order.total_amount,
        currency: saga.order.currency,
        ordersLastHour: velocity.rows[0]?.n ?? 1,
        shippingCountry: saga.order.shipping_address.country,
        billingCountry: saga.order.billing_address?.country ?? null,
        cardRisk,
      });
      result =
        assessment.decision === 'accept'
          ? { status: 'succeeded', at: at.toISOString(), score: assessment.score, reasons: assessment.reasons }
          : {
              status: 'failed',
              at: at.toISOString(),
              reason: RejectionReason.fraudRejected,
              score: assessment.score,
              reasons: assessment.reasons,
            };
    }
  }

  await withTransaction(pool, async (tx) => {
    const state = await lockSaga(tx, saga.saga_id);
    const previous = state.steps.check_fraud;
    if (previous !== undefined && previous.status !== 'retrying') return;
    if (result === undefined) {
      const retry = nextRetry(
        previous as Retrying | undefined,
        unavailable?.message ?? 'no answer',
        context.now(),
        unavailable?.retryAfterMs,
      );
      await recordStep(tx, saga.saga_id, {
        step: PlacementStepId.checkFraud,
        result: retry,
        nextAttemptAt: new Date(retry.next_attempt_at),
      });
      return;
    }
    await recordStep(tx, saga.saga_id, { step: PlacementStepId.checkFraud, result, nextAttemptAt: leaseFrom(context) });
    const payload =
      result.status === 'skipped'
        ? { saga_id: saga.saga_id, decision: 'skipped', reason: result.reason }
        : result.status === 'retrying'
          ? undefined
          : {
              saga_id: saga.saga_id,
              decision: result.status === 'succeeded' ? 'accept' : 'reject',
              score: result.score,
              reasons: result.reasons,
            };
    if (payload) await appendToOrder(tx, saga.order_id, [{ type: OrderEventType.fraudChecked, payload }]);
  });
}
