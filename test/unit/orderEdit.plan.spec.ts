import { expect } from 'chai';
import { increases, planEdit, type CurrentLine } from '../../domain/orderEdit.js';

const lines: CurrentLine[] = [
  { item_id: 'i1', sku: 'A', quantity: 2, unit_price: 1000, quantity_shipped: 0, quantity_cancelled: 0 },
  { item_id: 'i2', sku: 'B', quantity: 1, unit_price: 500, quantity_shipped: 1, quantity_cancelled: 0 },
  { item_id: 'i3', sku: 'C', quantity: 4, unit_price: 100, quantity_shipped: 0, quantity_cancelled: 1 },
];
const ids = () => 'new';

describe('order edits (domain)', () => {
  it('changes quantities, adds lines at catalog prices and totals the result', () => {
    const outcome = planEdit(
      lines,
      [
        { item_id: 'i1', quantity: 3 },
        { item_id: 'i3', quantity: 0 },
        { sku: 'D', quantity: 2 },
      ],
      new Map([['D', 250]]),
      ids,
    );
    expect(outcome.ok).to.equal(true);
    if (!outcome.ok) return;
    expect(outcome.plan.changes).to.deep.equal([
      { item_id: 'i1', sku: 'A', from: 2, to: 3, unit_price: 1000 },
      { item_id: 'i3', sku: 'C', from: 3, to: 0, unit_price: 100 },
    ]);
    expect(outcome.plan.added).to.deep.equal([{ item_id: 'new', sku: 'D', quantity: 2, unit_price: 250 }]);
    // Before: 2000 + 500 + 300 (one C cancelled); after: 3000 + 500 + 0 + 500.
    expect([outcome.plan.previous_total, outcome.plan.new_total]).to.deep.equal([2800, 4000]);
    expect(increases(outcome.plan)).to.deep.equal([
      { item_id: 'i1', sku: 'A', quantity: 1 },
      { item_id: 'new', sku: 'D', quantity: 2 },
    ]);
  });

  it('adds to the existing unshipped line of a SKU the order already has', () => {
    const outcome = planEdit(lines, [{ sku: 'A', quantity: 1 }], new Map([['A', 1000]]), ids);
    expect(outcome.ok && outcome.plan.changes).to.deep.equal([{ item_id: 'i1', sku: 'A', from: 2, to: 3, unit_price: 1000 }]);
  });

  it('merges lines naming one SKU before checking the per-line cap', () => {
    const merged = planEdit(
      lines,
      [
        { sku: 'D', quantity: 2 },
        { item_id: 'i1', quantity: 3 },
        { sku: 'D', quantity: 5 },
        { sku: 'A', quantity: 1 },
      ],
      new Map([
        ['A', 1000],
        ['D', 250],
      ]),
      ids,
    );
    expect(merged.ok && merged.plan.added).to.deep.equal([{ item_id: 'new', sku: 'D', quantity: 7, unit_price: 250 }]);
    // The line named by its id and by its SKU changes once: to 3, plus 1.
    expect(merged.ok && merged.plan.changes).to.deep.equal([{ item_id: 'i1', sku: 'A', from: 2, to: 4, unit_price: 1000 }]);

    const halves = [
      { sku: 'D', quantity: 60_000 },
      { sku: 'D', quantity: 60_000 },
    ];
    expect(planEdit(lines, halves, new Map([['D', 1]]), ids)).to.deep.equal({
      ok: false,
      refusal: { kind: 'line-quantity-too-large', sku: 'D', quantity: 120_000 },
    });
    expect(planEdit(lines, [{ sku: 'A', quantity: 99_999 }], new Map([['A', 1000]]), ids)).to.deep.equal({
      ok: false,
      refusal: { kind: 'line-quantity-too-large', sku: 'A', quantity: 100_001 },
    });
  });

  it('refuses a line that has shipped units and a line the order does not have', () => {
    expect(planEdit(lines, [{ item_id: 'i2', quantity: 0 }], new Map(), ids)).to.deep.equal({
      ok: false,
      refusal: { kind: 'line-shipped', item_id: 'i2' },
    });
    expect(planEdit(lines, [{ item_id: 'nope', quantity: 1 }], new Map(), ids)).to.deep.equal({
      ok: false,
      refusal: { kind: 'unknown-item', item_id: 'nope' },
    });
  });
});
