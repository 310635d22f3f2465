import { expect } from 'chai';
import {
  distanceKm,
  EXACT_SEARCH_LIMIT,
  planShipments,
  RoutingWeights,
  scoreWarehouses,
  type CandidateWarehouse,
  type RoutingLine,
} from '../../domain/routing.js';

const boston = { lat: 42.36, lon: -71.06, country: 'US' };
const coverage = new Map<string, readonly string[]>([
  ['ups', ['US', 'CA']],
  ['dhl', ['*']],
  ['postnl', ['NL', 'BE']],
]);

function warehouse(
  id: string,
  at: { lat: number; lon: number },
  stock: Record<string, number>,
  extra: Partial<CandidateWarehouse> = {},
): CandidateWarehouse {
  return {
    warehouse_id: id,
    lat: at.lat,
    lon: at.lon,
    capacity_per_day: 1000,
    open_units: 0,
    carriers: ['ups'],
    shipping_cost_per_kg: 400,
    available: new Map(Object.entries(stock)),
    ...extra,
  };
}

const newJersey = { lat: 40.52, lon: -74.41 };
const california = { lat: 34.06, lon: -117.65 };
const netherlands = { lat: 51.37, lon: 6.17 };
const line = (sku: string, quantity: number, item = `item-${sku}`): RoutingLine => ({
  item_id: item,
  sku,
  quantity,
  weight_grams: 500,
});

describe('fulfillment routing (domain)', () => {
  it('measures great-circle distance', () => {
    expect(distanceKm(boston, newJersey)).to.be.within(330, 360);
    expect(distanceKm(boston, netherlands)).to.be.within(5400, 5700);
  });

  it('prefers the nearest warehouse when everything else is equal', () => {
    const plan = planShipments(
      [line('A', 1)],
      boston,
      [warehouse('CA', california, { A: 5 }), warehouse('NJ', newJersey, { A: 5 })],
      coverage,
    );
    expect(plan.ok && plan.shipments.map((s) => s.warehouse_id)).to.deep.equal(['NJ']);
  });

  it('lets utilization outweigh a small difference in distance, and the weights decide', () => {
    const philadelphia = { lat: 39.95, lon: -75.17 };
    const nearButFull = warehouse('NJ', newJersey, { A: 5 }, { open_units: 1000 });
    const plan = planShipments([line('A', 1)], boston, [nearButFull, warehouse('PA', philadelphia, { A: 5 })], coverage);
    expect(plan.ok && plan.shipments[0]?.warehouse_id).to.equal('PA');
    // Across the continent, distance wins over a full backlog.
    const far = planShipments([line('A', 1)], boston, [nearButFull, warehouse('CA', california, { A: 5 })], coverage);
    expect(far.ok && far.shipments[0]?.warehouse_id).to.equal('NJ');
    // With distance weighted alone, the nearest wins whatever its backlog.
    const byDistance = planShipments([line('A', 1)], boston, [nearButFull, warehouse('PA', philadelphia, { A: 5 })], coverage, {
      distance: 1,
      utilization: 0,
      cost: 0,
      carriers: 0,
    });
    expect(byDistance.ok && byDistance.shipments[0]?.warehouse_id).to.equal('NJ');
  });

  it('scores carriers that serve the destination and cheaper shipping higher', () => {
    const scores = scoreWarehouses(
      [line('A', 2)],
      boston,
      [
        warehouse('X', newJersey, { A: 1 }, { carriers: ['postnl'], shipping_cost_per_kg: 900 }),
        warehouse('Y', newJersey, { A: 1 }, { carriers: ['ups', 'dhl'] }),
      ],
      coverage,
    );
    const [x, y] = scores;
    expect(x?.factors).to.include({ carriers: 0, cost: 0 });
    expect(y?.factors.carriers).to.equal(1);
    expect(y?.factors.cost).to.be.closeTo(1 - 400 / 900, 1e-9);
    expect(y!.score - x!.score).to.be.closeTo(RoutingWeights.carriers + RoutingWeights.cost * (1 - 400 / 900), 1e-9);
  });

  it('ships from one warehouse when one can ship everything, even if another scores higher for part', () => {
    const plan = planShipments(
      [line('A', 1), line('B', 1)],
      boston,
      [warehouse('NJ', newJersey, { A: 5 }), warehouse('CA', california, { A: 5, B: 5 })],
      coverage,
    );
    expect(plan.ok && plan.shipments.map((s) => s.warehouse_id)).to.deep.equal(['CA']);
  });

  it('splits two SKUs held only in different warehouses into two shipments that add up to the order', () => {
    const lines = [line('A', 2), line('B', 3)];
    const plan = planShipments(
      lines,
      boston,
      [warehouse('NJ', newJersey, { A: 5 }), warehouse('CA', california, { B: 5 })],
      coverage,
    );
    expect(plan.ok).to.equal(true);
    if (!plan.ok) return;
    expect(plan.shipments).to.deep.equal([
      { warehouse_id: 'NJ', items: [{ item_id: 'item-A', sku: 'A', quantity: 2 }] },
      { warehouse_id: 'CA', items: [{ item_id: 'item-B', sku: 'B', quantity: 3 }] },
    ]);
  });

  it('splits one line larger than any warehouse’s stock across warehouses, nearest first', () => {
    const plan = planShipments(
      [line('A', 8)],
      boston,
      [warehouse('CA', california, { A: 5 }), warehouse('NJ', newJersey, { A: 5 })],
      coverage,
    );
    expect(plan.ok && plan.shipments.map((s) => [s.warehouse_id, s.items[0]?.quantity])).to.deep.equal([
      ['NJ', 5],
      ['CA', 3],
    ]);
  });

  it('chooses the fewest shipments over better scores', () => {
    const plan = planShipments(
      [line('A', 1), line('B', 1), line('C', 1)],
      boston,
      [
        warehouse('NJ-A', newJersey, { A: 1 }),
        warehouse('NJ-B', newJersey, { B: 1 }),
        warehouse('NJ-C', newJersey, { C: 1 }),
        warehouse('NL-BC', netherlands, { B: 1, C: 1 }, { carriers: ['dhl'] }),
      ],
      coverage,
    );
    expect(plan.ok && plan.shipments.map((s) => s.warehouse_id).sort()).to.deep.equal(['NJ-A', 'NL-BC']);
  });

  it('covers greedily beyond the exact-search limit and still ships everything', () => {
    const many = Array.from({ length: EXACT_SEARCH_LIMIT + 3 }, (_, i) =>
      warehouse(`W${i}`, { lat: 40 + i * 0.1, lon: -74 }, { [`S${i}`]: 2 }),
    );
    const lines = many.map((_, i) => line(`S${i}`, 2, `i${i}`));
    const plan = planShipments(lines, boston, many, coverage);
    expect(plan.ok && plan.shipments.length).to.equal(many.length);
    const shipped = plan.ok ? plan.shipments.flatMap((s) => s.items).reduce((sum, i) => sum + i.quantity, 0) : 0;
    expect(shipped).to.equal(lines.length * 2);
  });

  it('reports what no combination of warehouses can ship', () => {
    expect(
      planShipments(
        [line('A', 11)],
        boston,
        [warehouse('NJ', newJersey, { A: 5 }), warehouse('CA', california, { A: 5 })],
        coverage,
      ),
    ).to.deep.equal({
      ok: false,
      shortages: [{ sku: 'A', requested: 11, available: 10 }],
    });
  });
});
