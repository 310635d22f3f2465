import { expect } from 'chai';
import fc from 'fast-check';
import { formatMoney, minorUnitDigits } from '../../domain/money.js';

describe('money as documents print it (minor units per ISO 4217)', () => {
  it('knows each currency’s minor unit: JPY 0, USD and EUR 2, KWD and BHD 3, anything unlisted 2', () => {
    expect(['JPY', 'KRW', 'USD', 'EUR', 'GBP', 'KWD', 'BHD', 'TND', 'CLF', 'XYZ'].map(minorUnitDigits)).to.deep.equal([
      0, 0, 2, 2, 2, 3, 3, 3, 4, 2,
    ]);
  });

  it('agrees with Intl for the common currencies, and keeps ISO where CLDR prints fewer digits', () => {
    const intl = (c: string) =>
      new Intl.NumberFormat('en', { style: 'currency', currency: c }).resolvedOptions().maximumFractionDigits;
    for (const c of ['JPY', 'USD', 'EUR', 'GBP', 'CHF', 'KWD', 'BHD', 'OMR', 'JOD', 'KRW', 'VND', 'CLP'])
      expect(minorUnitDigits(c), c).to.equal(intl(c));
    // CLDR shows HUF without decimals and IQD with none, but an amount in ISO minor units has 2 and 3.
    expect([minorUnitDigits('HUF'), minorUnitDigits('IQD')]).to.deep.equal([2, 3]);
  });

  it('places the decimal point by the currency and groups thousands', () => {
    const cases: Array<[number, string, string]> = [
      [2899, 'USD', '28.99 USD'],
      [5, 'EUR', '0.05 EUR'],
      [0, 'EUR', '0.00 EUR'],
      [123_456_789, 'USD', '1,234,567.89 USD'],
      [1_500, 'JPY', '1,500 JPY'],
      [7, 'JPY', '7 JPY'],
      [12_345, 'KWD', '12.345 KWD'],
      [7, 'BHD', '0.007 BHD'],
      [1_000_000_000_000, 'BHD', '1,000,000,000.000 BHD'],
      [-1_999, 'USD', '-19.99 USD'],
      [-1_500_000, 'JPY', '-1,500,000 JPY'],
    ];
    for (const [amount, currency, text] of cases) expect(formatMoney(amount, currency)).to.equal(text);
  });

  it('is exact: reading the digits back gives the amount, for any amount and currency', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1_000_000_000_000, max: 1_000_000_000_000 }),
        fc.constantFrom('JPY', 'USD', 'KWD', 'CLF'),
        (amount, currency) => {
          const text = formatMoney(amount, currency);
          expect(text.endsWith(` ${currency}`)).to.equal(true);
          const [, fraction = ''] = text.split(' ')[0]!.split('.');
          expect(fraction).to.have.length(minorUnitDigits(currency));
          expect(Number(text.split(' ')[0]!.replace(/[,.]/g, ''))).to.equal(amount);
        },
      ),
    );
  });
});
