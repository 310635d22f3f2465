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

/**
 * ISO 4217 exponents that are not 2 (every other code, known or not, has 2 minor-unit digits). A table
 * rather than Intl: ICU follows CLDR's display digits, which differ from ISO for HUF, COP, IDR, PKR, IQD
 * and a dozen more, and would put the decimal point of a stored amount in the wrong place.
 */
// prettier-ignore
const MINOR_UNIT_DIGITS: Readonly<Record<string, number>> = Object.freeze({
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0,
  RWF: 0, UGX: 0, UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
});

/** How many decimal digits the currency's minor unit has: JPY 0, USD 2, KWD 3. */
export function minorUnitDigits(currency: string): number {
  return MINOR_UNIT_DIGITS[currency] ?? 2;
}

/**
 * An amount in minor units as the documents print it, exactly (string arithmetic, no float):
 * `123456` USD → `1,234.56 USD`, `1500` JPY → `1,500 JPY`, `12345` KWD → `12.345 KWD`.
 */
export function formatMoney(amount: number, currency: string): string {
  const digits = minorUnitDigits(currency);
  const magnitude = String(Math.abs(amount)).padStart(digits + 1, '0');
  const whole = magnitude.slice(0, magnitude.length - digits).replace(/\B(?=(\d{3})+$)/g, ',');
  const fraction = digits > 0 ? `.${magnitude.slice(-digits)}` : '';
  return `${amount < 0 ? '-' : ''}${whole}${fraction} ${currency}`;
}
