import type { FraudCheckedPayload } from '../../../domain/eventPayloads.js';
import { OrderEventType } from '../../../domain/events.js';
import { assessFraud, cardRiskOf, type CardRisk } from '../../../domain/fraudRules.js';
import { RejectionReason, type FraudResult, type PlacementSagaState, type Retrying } from '../../../domain/placementSaga.js';
import { PspUnavailable } from '../../../platform/psp.js';
import type { SagaRecord } from '../sagaStore.js';
import type { StepApplied, StepApplyMany, StepContext } from '../stepContext.js';
import type { AuthorizationAnswer } from './authorizePayment.js';

export const FAST_PATH_REASON = 'repeat customer with a previously confirmed order on this payment method';

export type FraudOutcome = Exclude<FraudResult, Retrying>;

/**
 * The card's risk signal: the level the PSP's authorization answered with (recorded in the
 * authorization's step result). No second call to the PSP: without an authorization (declined, or
 * not answered yet) there is no signal.
 */
function cardRisk(state: PlacementSagaState, answer: AuthorizationAnswer | undefined): CardRisk | undefined {
  const auth = state.steps.authorize_payment;
  if (auth?.status === 'succeeded') return cardRiskOf(auth.risk_level);
  return answer !== undefined && !(answer instanceof PspUnavailable) && answer.kind === 'authorized'
    ? answer.riskLevel
    : undefined;
}

/**
 * Step 2b, recorded with the authorization: score the order with the fraud rules (domain/fraudRules)
 * from the customer's velocity, the billing/shipping countries and the card's risk signal. Fast path: a
 * customer who already has a confirmed order paid with the same card skips the check (`skipped`). The
 * customer's history came with the saga (sagaStore.loadSagas). Undefined while there is no signal to
 * score (the check waits for the authorization).
 */
export function assessOrderFraud(
  context: StepContext,
  saga: SagaRecord,
  state: PlacementSagaState,
  answer: AuthorizationAnswer | undefined,
): FraudOutcome | undefined {
  const at = context.now().toISOString();
  if (saga.customer.trustedCard) return { status: 'skipped', at, reason: FAST_PATH_REASON };
  const risk = cardRisk(state, answer);
  if (risk === undefined) return undefined;
  const assessment = assessFraud({
    amount: saga.order.total_amount,
    currency: saga.order.currency,
    ordersLastHour: saga.customer.ordersLastHour,
    shippingCountry: saga.order.shipping_address.country,
    billingCountry: saga.order.billing_address?.country ?? null,
    cardRisk: risk,
  });
  return assessment.decision === 'accept'
    ? { status: 'succeeded', at, score: assessment.score, reasons: assessment.reasons }
    : { status: 'failed', at, reason: RejectionReason.fraudRejected, score: assessment.score, reasons: assessment.reasons };
}

/** Step 2b, the record, for every saga of the batch with a signal to score: the assessment and `fraud.checked`. */
export function applyFraudChecks(context: StepContext, answers: ReadonlyMap<string, AuthorizationAnswer>): StepApplyMany {
  return async (_tx, targets) => {
    const applied = new Map<string, StepApplied>();
    for (const { saga, state } of targets) {
      const outcome = assessOrderFraud(context, saga, state, answers.get(saga.saga_id));
      if (outcome === undefined) continue;
      const payload: FraudCheckedPayload =
        outcome.status === 'skipped'
          ? { saga_id: saga.saga_id, decision: 'skipped', reason: outcome.reason }
          : {
              saga_id: saga.saga_id,
              decision: outcome.status === 'succeeded' ? 'accept' : 'reject',
              score: outcome.score,
              reasons: outcome.reasons,
            };
      applied.set(saga.saga_id, { result: outcome, events: [{ type: OrderEventType.fraudChecked, payload }] });
    }
    return applied;
  };
}
