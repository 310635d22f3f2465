import { expect } from 'chai';
import { allocateStock, type WarehouseStock } from '../../domain/reservation.js';

const stock = (rows: Record<string, Record<string, number>>) =>
  new Map<string, WarehouseStock[]>(
    Object.entries(rows).map(([sku, byWh]) => [
      sku,
      Object.entries(byWh).map(([warehouse_id, available]) => ({ warehouse_id, available })),
    ]),
  );

describe('allocating stock to reserve (domain)', () => {
  it('takes a line from the warehouse with the most stock that can fill it alone', () => {
    const outcome = allocateStock([{ item_id: 'i1', sku: 'A', quantity: 3 }], stock({ A: { W1: 3, W2: 10, W3: 2 } }));
    expect(outcome).to.deep.equal({ ok: true, allocations: [{ item_id: 'i1', sku: 'A', warehouse_id: 'W2', quantity: 3 }] });
  });

  it('splits a line across warehouses, largest first, only when none can fill it alone', () => {
    const outcome = allocateStock([{ item_id: 'i1', sku: 'A', quantity: 7 }], stock({ A: { W1: 3, W2: 5, W3: 2 } }));
    expect(outcome).to.deep.equal({
      ok: true,
      allocations: [
        { item_id: 'i1', sku: 'A', warehouse_id: 'W2', quantity: 5 },
        { item_id: 'i1', sku: 'A', warehouse_id: 'W1', quantity: 2 },
      ],
    });
  });

  it('accounts for stock taken by an earlier line of the same SKU', () => {
    const outcome = allocateStock(
      [
        { item_id: 'i1', sku: 'A', quantity: 4 },
        { item_id: 'i2', sku: 'A', quantity: 4 },
      ],
      stock({ A: { W1: 5, W2: 4 } }),
    );
    expect(outcome.ok && outcome.allocations.map((a) => [a.item_id, a.warehouse_id, a.quantity])).to.deep.equal([
      ['i1', 'W1', 4],
      ['i2', 'W2', 4],
    ]);
  });

  it('reports every short line and allocates nothing', () => {
    const outcome = allocateStock(
      [
        { item_id: 'i1', sku: 'A', quantity: 10 },
        { item_id: 'i2', sku: 'B', quantity: 1 },
      ],
      stock({ A: { W1: 3, W2: -2 } }),
    );
    expect(outcome).to.deep.equal({
      ok: false,
      shortages: [
        { sku: 'A', requested: 10, available: 3 },
        { sku: 'B', requested: 1, available: 0 },
      ],
    });
  });
});
