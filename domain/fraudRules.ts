/**
 * Fraud rules: each rule adds points and a reason; 80 points or more rejects the order. Pure: the
 * inputs (velocity, countries, the card's risk signal — the one the PSP's authorization answers with)
 * are gathered by the caller.
 */
export type CardRisk = 'normal' | 'elevated' | 'highest';

/** A risk level as the PSP reports (or a step recorded) it, if it is one the rules know. */
export function cardRiskOf(level: unknown): CardRisk | undefined {
  return level === 'normal' || level === 'elevated' || level === 'highest' ? level : undefined;
}

export interface FraudInput {
  readonly amount: number;
  readonly currency: string;
  /** Orders this customer placed in the last hour, this one included. */
  readonly ordersLastHour: number;
  readonly shippingCountry: string;
  readonly billingCountry: string | null;
  readonly cardRisk: CardRisk;
}

export interface FraudAssessment {
  readonly score: number;
  readonly reasons: readonly string[];
  readonly decision: 'accept' | 'reject';
}

export const FRAUD_REJECT_SCORE = 80;

/** Amount thresholds in minor units (so 5 000.00 and 20 000.00 in the order's currency). */
export const FraudThresholds = Object.freeze({
  largeAmount: 500_000,
  veryLargeAmount: 2_000_000,
  busyCustomerPerHour: 5,
  franticCustomerPerHour: 10,
});

export function assessFraud(input: FraudInput): FraudAssessment {
  const hits: Array<[number, string]> = [];
  if (input.amount >= FraudThresholds.veryLargeAmount)
    hits.push([60, `amount ${input.amount} ≥ ${FraudThresholds.veryLargeAmount}`]);
  else if (input.amount >= FraudThresholds.largeAmount)
    hits.push([30, `amount ${input.amount} ≥ ${FraudThresholds.largeAmount}`]);

  if (input.ordersLastHour > FraudThresholds.franticCustomerPerHour)
    hits.push([70, `${input.ordersLastHour} orders in the last hour`]);
  else if (input.ordersLastHour > FraudThresholds.busyCustomerPerHour)
    hits.push([40, `${input.ordersLastHour} orders in the last hour`]);

  if (input.billingCountry !== null && input.billingCountry !== input.shippingCountry) {
    hits.push([25, `billing country ${input.billingCountry} differs from shipping country ${input.shippingCountry}`]);
  }

  if (input.cardRisk === 'highest') hits.push([100, 'card risk level highest']);
  else if (input.cardRisk === 'elevated') hits.push([40, 'card risk level elevated']);

  const score = Math.min(
    100,
    hits.reduce((sum, [points]) => sum + points, 0),
  );
  return { score, reasons: hits.map(([, reason]) => reason), decision: score >= FRAUD_REJECT_SCORE ? 'reject' : 'accept' };
}
