import { expect } from 'chai';
import { findShortages, mergeLines, priceOrder, type CatalogPrice } from '../../domain/pricing.js';

const catalog = new Map<string, CatalogPrice>([
  ['A', { sku: 'A', price: 1999, currency: 'USD' }],
  ['B', { sku: 'B', price: 500, currency: 'USD' }],
  ['E', { sku: 'E', price: 700, currency: 'EUR' }],
]);

describe('pricing (domain)', () => {
  it('prices each line from the catalog and totals in minor units', () => {
    const outcome = priceOrder(
      [
        { sku: 'A', quantity: 3 },
        { sku: 'B', quantity: 1 },
      ],
      catalog,
    );
    expect(outcome).to.deep.equal({
      ok: true,
      currency: 'USD',
      lines: [
        { sku: 'A', quantity: 3, unit_price: 1999, line_total: 5997 },
        { sku: 'B', quantity: 1, unit_price: 500, line_total: 500 },
      ],
      total: 6497,
    });
  });

  it('merges lines that name the same SKU, keeping first-seen order', () => {
    expect(
      mergeLines([
        { sku: 'B', quantity: 1 },
        { sku: 'A', quantity: 2 },
        { sku: 'B', quantity: 4 },
      ]),
    ).to.deep.equal([
      { sku: 'B', quantity: 5 },
      { sku: 'A', quantity: 2 },
    ]);
  });

  it('refuses unknown SKUs, naming every one', () => {
    const outcome = priceOrder(
      [
        { sku: 'A', quantity: 1 },
        { sku: 'X', quantity: 1 },
        { sku: 'Y', quantity: 1 },
      ],
      catalog,
    );
    expect(outcome).to.deep.equal({ ok: false, refusal: { kind: 'unknown-sku', skus: ['X', 'Y'] } });
  });

  it('refuses products priced in another currency than the order', () => {
    const outcome = priceOrder(
      [
        { sku: 'A', quantity: 1 },
        { sku: 'E', quantity: 1 },
      ],
      catalog,
      'USD',
    );
    expect(outcome).to.deep.equal({ ok: false, refusal: { kind: 'currency-mismatch', currency: 'USD', skus: ['E'] } });
  });

  it("takes the catalog's currency when the order names none", () => {
    const outcome = priceOrder([{ sku: 'E', quantity: 2 }], catalog);
    expect(outcome.ok && outcome.currency).to.equal('EUR');
  });

  it('refuses totals beyond the order limit instead of losing precision', () => {
    const huge = new Map([['H', { sku: 'H', price: 1_000_000_000, currency: 'USD' }]]);
    const outcome = priceOrder([{ sku: 'H', quantity: 100_000 }], huge);
    expect(outcome.ok).to.equal(false);
    expect(!outcome.ok && outcome.refusal.kind).to.equal('amount-too-large');
  });

  it('finds lines no stock anywhere could fill', () => {
    const shortages = findShortages(
      [
        { sku: 'A', quantity: 5 },
        { sku: 'B', quantity: 2 },
        { sku: 'C', quantity: 1 },
      ],
      new Map([
        ['A', 4],
        ['B', 2],
      ]),
    );
    expect(shortages).to.deep.equal([
      { sku: 'A', requested: 5, available: 4 },
      { sku: 'C', requested: 1, available: 0 },
    ]);
  });
});
