/**
 * Deterministic short picks (WMS_SHORT_PICK), so tests and demos can make a warehouse come up short:
 * comma-separated rules `SKU=missing` (at every warehouse) or `WAREHOUSE:SKU=missing` (at one). A
 * pick of that SKU finds `missing` units fewer than asked (never below zero).
 */
export interface ShortPickRule {
  readonly warehouse_id?: string;
  readonly sku: string;
  readonly missing: number;
}

const RULE = /^(?:([A-Za-z0-9._-]{1,64}):)?([A-Za-z0-9._-]{1,64})=([1-9][0-9]{0,8})$/;

export function parseShortPicks(spec: string): ShortPickRule[] {
  return spec
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => {
      const match = RULE.exec(part);
      if (match === null) throw new Error(`WMS_SHORT_PICK: "${part}" is not SKU=missing or WAREHOUSE:SKU=missing`);
      const missing = Number(match[3]);
      return match[1] === undefined
        ? { sku: match[2] as string, missing }
        : { warehouse_id: match[1], sku: match[2] as string, missing };
    });
}

/** Units of `sku` a pick of `quantity` at `warehouseId` comes up short. */
export function shortOf(rules: readonly ShortPickRule[], warehouseId: string, sku: string, quantity: number): number {
  const rule = rules.find((r) => r.sku === sku && (r.warehouse_id === undefined || r.warehouse_id === warehouseId));
  return rule === undefined ? 0 : Math.min(quantity, rule.missing);
}
