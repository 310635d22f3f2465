import { OrderEventType } from '../../../domain/events.js';
import { assessFraud } from '../../../domain/fraudRules.js';
import { RejectionReason, type FraudResult, type Retrying } from '../../../domain/placementSaga.js';
import { PspUnavailable } from '../../../platform/psp.js';
import type { SagaRecord } from '../sagaStore.js';
import { retryLater, type StepApply, type StepContext } from '../stepContext.js';

export const FAST_PATH_REASON = 'repeat customer with a previously confirmed order on this payment method';

export type FraudOutcome = Exclude<FraudResult, Retrying> | PspUnavailable;

/**
 * Step 2b, beside the authorization: score the order with the fraud rules (domain/fraudRules) from the
 * customer's velocity, the billing/shipping countries and the card's risk signal at the PSP. Fast path:
 * a customer who already has a confirmed order paid with the same card skips the check (`skipped`).
 * The customer's history came with the saga (sagaStore.loadSaga).
 */
export async function assessOrderFraud(context: StepContext, saga: SagaRecord): Promise<FraudOutcome> {
  const at = context.now().toISOString();
  if (saga.customer.trustedCard) return { status: 'skipped', at, reason: FAST_PATH_REASON };
  try {
    const cardRisk = await context.psp.assessRisk(saga.order.token);
    const assessment = assessFraud({
      amount: saga.order.total_amount,
      currency: saga.order.currency,
      ordersLastHour: saga.customer.ordersLastHour,
      shippingCountry: saga.order.shipping_address.country,
      billingCountry: saga.order.billing_address?.country ?? null,
      cardRisk,
    });
    return assessment.decision === 'accept'
      ? { status: 'succeeded', at, score: assessment.score, reasons: assessment.reasons }
      : { status: 'failed', at, reason: RejectionReason.fraudRejected, score: assessment.score, reasons: assessment.reasons };
  } catch (error) {
    if (error instanceof PspUnavailable) return error;
    throw error;
  }
}

/** Step 2b, the record: the assessment and `fraud.checked`, or a retry. */
export function applyFraudCheck(context: StepContext, saga: SagaRecord, outcome: FraudOutcome): StepApply {
  return async (_tx, state) => {
    if (outcome instanceof PspUnavailable) {
      return retryLater(context, state.steps.check_fraud, outcome);
    }
    const payload =
      outcome.status === 'skipped'
        ? { saga_id: saga.saga_id, decision: 'skipped', reason: outcome.reason }
        : {
            saga_id: saga.saga_id,
            decision: outcome.status === 'succeeded' ? 'accept' : 'reject',
            score: outcome.score,
            reasons: outcome.reasons,
          };
    return { result: outcome, events: [{ type: OrderEventType.fraudChecked, payload }] };
  };
}
