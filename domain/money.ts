/** Money is an integer amount of minor units with an ISO 4217 currency; never a float. */
export interface Money {
  readonly amount: number;
  readonly currency: string;
}

/** Largest amount any single order may reach, in minor units: far below Number.MAX_SAFE_INTEGER. */
export const MAX_ORDER_AMOUNT = 1_000_000_000_000;

export function multiply(unitAmount: number, quantity: number): number {
  const total = unitAmount * quantity;
  if (!Number.isSafeInteger(total)) throw new RangeError('amount out of range');
  return total;
}
