import { multiply } from './money.js';
import { MAX_LINE_QUANTITY } from './order.js';
import { mergeLines } from './pricing.js';

/**
 * Order edits (contract §4 PATCH), pure: what an edit request changes, checked against the order's
 * lines. Only lines nothing of which has shipped may change; a quantity of 0 removes a line; a SKU not
 * on the order adds a line at the catalog's price. Totals are the lines' quantities at their prices.
 */
export interface CurrentLine {
  readonly item_id: string;
  readonly sku: string;
  readonly quantity: number;
  readonly unit_price: number;
  readonly quantity_shipped: number;
  readonly quantity_cancelled: number;
}

export type EditItem =
  { readonly item_id: string; readonly quantity: number } | { readonly sku: string; readonly quantity: number };

export interface LineChange {
  readonly item_id: string;
  readonly sku: string;
  readonly from: number;
  readonly to: number;
  readonly unit_price: number;
}

export interface AddedLine {
  readonly item_id: string;
  readonly sku: string;
  readonly quantity: number;
  readonly unit_price: number;
}

export interface EditPlan {
  readonly changes: readonly LineChange[];
  readonly added: readonly AddedLine[];
  readonly previous_total: number;
  readonly new_total: number;
}

export type EditRefusal =
  | { readonly kind: 'unknown-item'; readonly item_id: string }
  | { readonly kind: 'line-shipped'; readonly item_id: string }
  | { readonly kind: 'nothing-to-change' }
  | { readonly kind: 'line-quantity-too-large'; readonly sku: string; readonly quantity: number };

/** What counts on a line: what was ordered and not cancelled (a removed line counts nothing). */
export function lineTotal(line: Pick<CurrentLine, 'quantity' | 'quantity_cancelled' | 'unit_price'>): number {
  return multiply(line.unit_price, line.quantity - line.quantity_cancelled);
}

export function planEdit(
  lines: readonly CurrentLine[],
  items: readonly EditItem[],
  prices: ReadonlyMap<string, number>,
  newItemId: () => string,
): { ok: true; plan: EditPlan } | { ok: false; refusal: EditRefusal } {
  const changes: LineChange[] = [];
  const added: AddedLine[] = [];
  // Lines naming one SKU are merged first (as at placement), so the cap below sees what a line will hold.
  const byLine = items.filter((item) => 'item_id' in item);
  const bySku = mergeLines(items.flatMap((item) => ('sku' in item ? [item] : [])));
  for (const item of [...byLine, ...bySku]) {
    if ('item_id' in item) {
      const line = lines.find((l) => l.item_id === item.item_id);
      if (line === undefined) return { ok: false, refusal: { kind: 'unknown-item', item_id: item.item_id } };
      if (line.quantity_shipped > 0) return { ok: false, refusal: { kind: 'line-shipped', item_id: item.item_id } };
      const from = line.quantity - line.quantity_cancelled;
      if (item.quantity !== from)
        changes.push({ item_id: line.item_id, sku: line.sku, from, to: item.quantity, unit_price: line.unit_price });
      continue;
    }
    const existing = lines.find((l) => l.sku === item.sku && l.quantity_shipped === 0 && l.quantity > l.quantity_cancelled);
    if (existing !== undefined) {
      // Adding a SKU the order already has (unshipped) adds to its line, on top of a change named by its id.
      const named = changes.findIndex((c) => c.item_id === existing.item_id);
      const from = existing.quantity - existing.quantity_cancelled;
      const change = { item_id: existing.item_id, sku: existing.sku, from, unit_price: existing.unit_price };
      if (named === -1) changes.push({ ...change, to: from + item.quantity });
      else changes[named] = { ...change, to: (changes[named]?.to ?? from) + item.quantity };
      continue;
    }
    added.push({ item_id: newItemId(), sku: item.sku, quantity: item.quantity, unit_price: prices.get(item.sku) ?? 0 });
  }
  const tooLarge = [...changes.map((c) => ({ sku: c.sku, quantity: c.to })), ...added].find(
    (l) => l.quantity > MAX_LINE_QUANTITY,
  );
  if (tooLarge !== undefined) {
    return { ok: false, refusal: { kind: 'line-quantity-too-large', sku: tooLarge.sku, quantity: tooLarge.quantity } };
  }
  const previous = lines.reduce((sum, l) => sum + lineTotal(l), 0);
  const delta =
    changes.reduce((sum, c) => sum + multiply(c.unit_price, c.to - c.from), 0) +
    added.reduce((sum, a) => sum + multiply(a.unit_price, a.quantity), 0);
  return { ok: true, plan: { changes, added, previous_total: previous, new_total: previous + delta } };
}

/** Units each line needs reserved beyond what it holds now (increases and new lines). */
export function increases(plan: EditPlan): Array<{ item_id: string; sku: string; quantity: number }> {
  return [
    ...plan.changes.filter((c) => c.to > c.from).map((c) => ({ item_id: c.item_id, sku: c.sku, quantity: c.to - c.from })),
    ...plan.added.map((a) => ({ item_id: a.item_id, sku: a.sku, quantity: a.quantity })),
  ];
}
