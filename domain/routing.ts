/**
 * Fulfillment routing (contract §5), pure: which warehouse(s) ship an order. Warehouses are scored by
 * distance to the destination (40 %), utilization/backlog (30 %), shipping cost (20 %) and carrier
 * availability (10 %), each factor 0..1 (1 best): distance and cost relative to the farthest / dearest
 * candidate, utilization as the share of a day's capacity still free, carriers as the share of the
 * warehouse's carriers serving the destination country. One warehouse when
 * one can ship everything; otherwise the split with the fewest shipments (an exact search over sets of
 * warehouses up to EXACT_SEARCH_LIMIT candidates, a greedy set cover beyond), ties by total score. A line
 * may be split across warehouses when none holds its full quantity.
 */
export interface RoutingWeightSet {
  readonly distance: number;
  readonly utilization: number;
  readonly cost: number;
  readonly carriers: number;
}

export const RoutingWeights: RoutingWeightSet = Object.freeze({ distance: 0.4, utilization: 0.3, cost: 0.2, carriers: 0.1 });

/** Beyond this many candidate warehouses the split uses a greedy set cover instead of an exact search. */
export const EXACT_SEARCH_LIMIT = 10;

export interface RoutingLine {
  readonly item_id: string;
  readonly sku: string;
  readonly quantity: number;
  readonly weight_grams: number;
}

export interface Destination {
  readonly lat: number;
  readonly lon: number;
  readonly country: string;
}

export interface CandidateWarehouse {
  readonly warehouse_id: string;
  readonly lat: number;
  readonly lon: number;
  readonly capacity_per_day: number;
  /** Units in shipments not yet shipped: the backlog against capacity. */
  readonly open_units: number;
  readonly carriers: readonly string[];
  readonly shipping_cost_per_kg: number;
  /** Units available (on hand minus reserved for others) per SKU. */
  readonly available: ReadonlyMap<string, number>;
}

/** Which countries each carrier serves ('*' for all). */
export type CarrierCoverage = ReadonlyMap<string, readonly string[]>;

export interface WarehouseScore {
  readonly warehouse_id: string;
  readonly score: number;
  readonly distance_km: number;
  readonly factors: { readonly distance: number; readonly utilization: number; readonly cost: number; readonly carriers: number };
}

export interface PlannedShipment {
  readonly warehouse_id: string;
  readonly items: ReadonlyArray<{ readonly item_id: string; readonly sku: string; readonly quantity: number }>;
}

export type RoutingPlan =
  | { readonly ok: true; readonly shipments: readonly PlannedShipment[]; readonly scores: readonly WarehouseScore[] }
  | { readonly ok: false; readonly shortages: ReadonlyArray<{ sku: string; requested: number; available: number }> };

const EARTH_RADIUS_KM = 6371;

export function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = (deg: number) => (deg * Math.PI) / 180;
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * Lower is better → 1 − value / largest value among the candidates (0 for the largest; all zero → 1).
 * Relative to the largest rather than min–max, so 50 km between two near warehouses weighs little and
 * 4 000 km weighs a lot.
 */
function relativeToLargest(values: readonly number[]): number[] {
  const max = Math.max(...values);
  return values.map((v) => (max <= 0 ? 1 : 1 - v / max));
}

/**
 * Scores every candidate for an order. Cost is the order's weight × the warehouse's cost per kg,
 * growing with distance (one band per 1 000 km); carriers is the share of the warehouse's carriers
 * that serve the destination country.
 */
export function scoreWarehouses(
  lines: readonly RoutingLine[],
  destination: Destination,
  warehouses: readonly CandidateWarehouse[],
  coverage: CarrierCoverage,
  weights: RoutingWeightSet = RoutingWeights,
): WarehouseScore[] {
  const weightKg = lines.reduce((sum, l) => sum + (l.weight_grams * l.quantity) / 1000, 0);
  const distances = warehouses.map((w) => distanceKm(w, destination));
  const costs = warehouses.map(
    (w, i) => Math.max(weightKg, 0.1) * w.shipping_cost_per_kg * (1 + Math.floor((distances[i] ?? 0) / 1000)),
  );
  const distance = relativeToLargest(distances);
  const cost = relativeToLargest(costs);
  return warehouses.map((w, i) => {
    const utilization = 1 - Math.min(1, w.open_units / Math.max(1, w.capacity_per_day));
    const serving = w.carriers.filter((c) => {
      const countries = coverage.get(c) ?? [];
      return countries.includes('*') || countries.includes(destination.country);
    }).length;
    const carriers = w.carriers.length === 0 ? 0 : serving / w.carriers.length;
    const factors = { distance: distance[i] ?? 0, utilization, cost: cost[i] ?? 0, carriers };
    const score =
      weights.distance * factors.distance +
      weights.utilization * factors.utilization +
      weights.cost * factors.cost +
      weights.carriers * factors.carriers;
    return { warehouse_id: w.warehouse_id, score, distance_km: distances[i] ?? 0, factors };
  });
}

function needs(lines: readonly RoutingLine[]): Map<string, number> {
  const total = new Map<string, number>();
  for (const l of lines) total.set(l.sku, (total.get(l.sku) ?? 0) + l.quantity);
  return total;
}

function covers(set: readonly CandidateWarehouse[], need: ReadonlyMap<string, number>): boolean {
  for (const [sku, quantity] of need) {
    if (set.reduce((sum, w) => sum + (w.available.get(sku) ?? 0), 0) < quantity) return false;
  }
  return true;
}

function* subsets<T>(items: readonly T[], size: number, start = 0, prefix: T[] = []): Generator<T[]> {
  if (prefix.length === size) {
    yield [...prefix];
    return;
  }
  for (let i = start; i <= items.length - (size - prefix.length); i++) {
    prefix.push(items[i] as T);
    yield* subsets(items, size, i + 1, prefix);
    prefix.pop();
  }
}

/** Greedy set cover: repeatedly the warehouse that ships the most still-needed units, ties by score. */
function greedyCover(
  candidates: readonly CandidateWarehouse[],
  need: ReadonlyMap<string, number>,
  score: ReadonlyMap<string, number>,
): CandidateWarehouse[] {
  const remaining = new Map(need);
  const chosen: CandidateWarehouse[] = [];
  const left = [...candidates];
  while ([...remaining.values()].some((q) => q > 0) && left.length > 0) {
    const gain = (w: CandidateWarehouse) =>
      [...remaining].reduce((sum, [sku, q]) => sum + Math.min(q, w.available.get(sku) ?? 0), 0);
    left.sort((a, b) => gain(b) - gain(a) || (score.get(b.warehouse_id) ?? 0) - (score.get(a.warehouse_id) ?? 0));
    const best = left.shift() as CandidateWarehouse;
    if (gain(best) === 0) break;
    chosen.push(best);
    for (const [sku, q] of remaining) remaining.set(sku, Math.max(0, q - (best.available.get(sku) ?? 0)));
  }
  return chosen;
}

/** Plans the shipments of an order from the candidates' stock (see the module comment). */
export function planShipments(
  lines: readonly RoutingLine[],
  destination: Destination,
  warehouses: readonly CandidateWarehouse[],
  coverage: CarrierCoverage,
  weights: RoutingWeightSet = RoutingWeights,
): RoutingPlan {
  const need = needs(lines);
  const shortages = [...need]
    .map(([sku, requested]) => ({ sku, requested, available: warehouses.reduce((s, w) => s + (w.available.get(sku) ?? 0), 0) }))
    .filter((s) => s.available < s.requested);
  if (shortages.length > 0) return { ok: false, shortages };

  const scores = scoreWarehouses(lines, destination, warehouses, coverage, weights);
  const scoreOf = new Map(scores.map((s) => [s.warehouse_id, s.score]));
  const byScore = [...warehouses].sort(
    (a, b) =>
      (scoreOf.get(b.warehouse_id) ?? 0) - (scoreOf.get(a.warehouse_id) ?? 0) || (a.warehouse_id < b.warehouse_id ? -1 : 1),
  );
  const useful = byScore.filter((w) => [...need.keys()].some((sku) => (w.available.get(sku) ?? 0) > 0));

  let chosen: CandidateWarehouse[] | undefined;
  if (useful.length <= EXACT_SEARCH_LIMIT) {
    for (let size = 1; size <= useful.length && chosen === undefined; size++) {
      let best: { set: CandidateWarehouse[]; total: number } | undefined;
      for (const set of subsets(useful, size)) {
        if (!covers(set, need)) continue;
        const total = set.reduce((sum, w) => sum + (scoreOf.get(w.warehouse_id) ?? 0), 0);
        if (best === undefined || total > best.total + 1e-12) best = { set, total };
      }
      chosen = best?.set;
    }
  } else {
    chosen = greedyCover(useful, need, scoreOf);
  }
  if (chosen === undefined || !covers(chosen, need)) return { ok: false, shortages: [] };

  // Each line from the chosen warehouses, best score first; a line splits only when it must.
  const left = new Map(chosen.map((w) => [w.warehouse_id, new Map(w.available)]));
  const order = chosen.map((w) => w.warehouse_id).sort((a, b) => (scoreOf.get(b) ?? 0) - (scoreOf.get(a) ?? 0));
  const items = new Map<string, Array<{ item_id: string; sku: string; quantity: number }>>(order.map((id) => [id, []]));
  for (const line of lines) {
    let wanted = line.quantity;
    const whole = order.find((id) => (left.get(id)?.get(line.sku) ?? 0) >= wanted);
    for (const id of whole !== undefined ? [whole] : order) {
      if (wanted === 0) break;
      const stock = left.get(id) as Map<string, number>;
      const take = Math.min(wanted, stock.get(line.sku) ?? 0);
      if (take === 0) continue;
      stock.set(line.sku, (stock.get(line.sku) ?? 0) - take);
      items.get(id)?.push({ item_id: line.item_id, sku: line.sku, quantity: take });
      wanted -= take;
    }
  }
  const shipments = order
    .filter((id) => (items.get(id) ?? []).length > 0)
    .map((id) => ({ warehouse_id: id, items: items.get(id) ?? [] }));
  return { ok: true, shipments, scores };
}

/**
 * The carrier a shipment from this warehouse goes with: the first of the warehouse's carriers (in the
 * order it lists them: its preference) that serves the destination country; else its first carrier.
 */
export function chooseCarrier(carriers: readonly string[], country: string, coverage: CarrierCoverage): string | null {
  const serving = carriers.find((c) => {
    const countries = coverage.get(c) ?? [];
    return countries.includes('*') || countries.includes(country);
  });
  return serving ?? carriers[0] ?? null;
}
