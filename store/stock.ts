import type { Queryable } from '../platform/db.js';

/**
 * Stock moves, each written once: `reserve` (free stock becomes reserved, checked: never oversold),
 * `release` (reserved goes back to free), `moveReserved` (an order's reserved units move from some
 * stock rows to others, the increases checked) and `consume` (reserved units leave the warehouse: on
 * hand and reserved both drop). Each takes many lines at once and is ONE statement, meant to be the
 * transaction's last: the inventory rows — hot, shared by every order of a SKU — are locked in (sku,
 * warehouse) order by every move, so concurrent batches never deadlock, FOR NO KEY UPDATE (no key
 * changes, so foreign-key share locks do not wait on it), and held only for the statement and the commit.
 * Lines of the same (warehouse, sku) are summed into one row change.
 */

/** Units of one SKU at one warehouse. */
export interface StockLine {
  readonly warehouse_id: string;
  readonly sku: string;
  readonly quantity: number;
}

/** A reservation row written held when `reserve` takes its line. */
export interface Hold {
  readonly reservation_id: string;
  readonly order_id: string;
  readonly item_id: string;
}

/** Held reservations whose units a move gives back or takes out (the rows change status in the same statement). */
export type HeldReservations =
  | { readonly orderIds: readonly string[] }
  | { readonly reservationIds: readonly string[] }
  | { readonly shipmentIds: readonly string[] };

/** The lines as three parameter arrays, $1 (warehouse_id), $2 (sku), $3 (quantity). */
function lineParams(lines: readonly StockLine[]): [string[], string[], number[]] {
  return [lines.map((l) => l.warehouse_id), lines.map((l) => l.sku), lines.map((l) => l.quantity)];
}

const LINES = 'SELECT * FROM unnest($1::text[], $2::text[], $3::int[])';

/**
 * The CTEs every move starts with: `wanted`, the units of `source` (rows of warehouse_id, sku,
 * quantity) summed per stock row, and `locked`, those stock rows locked in (sku, warehouse) order with
 * what each has free.
 */
function lockedStock(source: string): string {
  return `wanted AS (
       SELECT warehouse_id, sku, sum(quantity)::int AS quantity
         FROM (${source}) AS t(warehouse_id, sku, quantity)
        GROUP BY warehouse_id, sku
     ), locked AS (
       SELECT i.warehouse_id, i.sku, i.on_hand - i.reserved AS available
         FROM inventory i JOIN wanted w ON w.warehouse_id = i.warehouse_id AND w.sku = i.sku
        ORDER BY i.sku, i.warehouse_id
          FOR NO KEY UPDATE OF i
     )`;
}

/**
 * `enough`: whether every wanted stock row exists and has free what is wanted of it; `taken`: reserved
 * grows by what is wanted, only when there is enough (else nothing changes).
 */
const TAKE_IF_ENOUGH = `enough AS (
       SELECT count(*) = (SELECT count(*) FROM wanted) AND coalesce(bool_and(l.available >= w.quantity), true) AS ok
         FROM wanted w JOIN locked l ON l.warehouse_id = w.warehouse_id AND l.sku = w.sku
     ), taken AS (
       UPDATE inventory i SET reserved = i.reserved + w.quantity, updated_at = now()
         FROM wanted w, enough e
        WHERE e.ok AND i.warehouse_id = w.warehouse_id AND i.sku = w.sku
     )`;

/** `changed`: the held reservations selected by `held` ($4) set to `status`, returning their units. */
function heldUnits(held: HeldReservations, status: 'released' | 'consumed'): { cte: string; ids: readonly string[] } {
  const [column, ids] =
    'orderIds' in held
      ? ['order_id', held.orderIds]
      : 'reservationIds' in held
        ? ['reservation_id', held.reservationIds]
        : ['shipment_id', held.shipmentIds];
  return {
    cte: `changed AS (
       UPDATE reservations SET status = '${status}', updated_at = now()
        WHERE ${column} = ANY($4::uuid[]) AND status = 'held'
        RETURNING warehouse_id, sku, quantity
     )`,
    ids,
  };
}

/**
 * Takes the lines from free stock, all or nothing: true when taken; false, changing nothing, when a
 * stock row does not exist or has less free than its lines want (never oversold). With `holds` (one
 * per line, in the same order), the lines' reservation rows are written held in the same statement;
 * with `reserveLinesOf`, those orders' lines are marked reserved.
 */
export async function reserve(
  tx: Queryable,
  lines: readonly StockLine[],
  options: { readonly holds?: readonly Hold[]; readonly reserveLinesOf?: readonly string[] } = {},
): Promise<boolean> {
  if (lines.length === 0) return true;
  const { holds, reserveLinesOf } = options;
  if (holds !== undefined && holds.length !== lines.length) throw new Error('reserve: one hold per line');
  const params: unknown[] = lineParams(lines);
  let also = '';
  if (holds !== undefined) {
    also += `, held AS (
       INSERT INTO reservations (reservation_id, order_id, item_id, warehouse_id, sku, quantity)
       SELECT r, o, i, w, s, q
         FROM unnest($${params.length + 1}::uuid[], $${params.length + 2}::uuid[], $${params.length + 3}::uuid[], $1::text[], $2::text[], $3::int[])
              AS t(r, o, i, w, s, q), enough e
        WHERE e.ok
     )`;
    params.push(
      holds.map((h) => h.reservation_id),
      holds.map((h) => h.order_id),
      holds.map((h) => h.item_id),
    );
  }
  if (reserveLinesOf !== undefined) {
    also += `, lines AS (
       UPDATE order_items SET status = 'reserved' FROM enough e WHERE e.ok AND order_id = ANY($${params.length + 1}::uuid[])
     )`;
    params.push(reserveLinesOf);
  }
  const result = await tx.query<{ ok: boolean }>(
    `WITH ${lockedStock(LINES)}, ${TAKE_IF_ENOUGH}${also}
     SELECT ok FROM enough`,
    params,
  );
  return result.rows[0]?.ok === true;
}

/**
 * Gives units back to free stock (reserved drops): the lines, and the units of the held reservations
 * selected by `held`, which become released in the same statement. Returns what went back per stock
 * row, in (sku, warehouse) order.
 */
export async function release(tx: Queryable, lines: readonly StockLine[], held?: HeldReservations): Promise<StockLine[]> {
  if (lines.length === 0 && (held === undefined || idsOf(held).length === 0)) return [];
  const changed = held === undefined ? undefined : heldUnits(held, 'released');
  const result = await tx.query<StockLine>(
    `WITH ${changed === undefined ? '' : `${changed.cte}, `}${lockedStock(
      changed === undefined ? LINES : `${LINES} UNION ALL SELECT warehouse_id, sku, quantity FROM changed`,
    )}, back AS (
       UPDATE inventory i SET reserved = i.reserved - w.quantity, updated_at = now()
         FROM wanted w JOIN locked l ON l.warehouse_id = w.warehouse_id AND l.sku = w.sku
        WHERE i.warehouse_id = w.warehouse_id AND i.sku = w.sku
     )
     SELECT warehouse_id, sku, quantity FROM wanted ORDER BY sku, warehouse_id`,
    changed === undefined ? lineParams(lines) : [...lineParams(lines), changed.ids],
  );
  return result.rows;
}

/**
 * Moves reserved units from the `from` lines to the `to` lines (an order's holds giving way to its
 * shipments), netted per stock row: where reserved grows, the row must have that much free, else
 * nothing changes and the answer is false (never oversold); where it shrinks, the units go back.
 */
export async function moveReserved(tx: Queryable, from: readonly StockLine[], to: readonly StockLine[]): Promise<boolean> {
  const net = new Map<string, { warehouse_id: string; sku: string; quantity: number }>();
  const add = (line: StockLine, sign: 1 | -1) => {
    const key = `${line.warehouse_id}\u0000${line.sku}`;
    const row = net.get(key) ?? { warehouse_id: line.warehouse_id, sku: line.sku, quantity: 0 };
    row.quantity += sign * line.quantity;
    net.set(key, row);
  };
  for (const line of from) add(line, -1);
  for (const line of to) add(line, +1);
  const moves = [...net.values()].filter((m) => m.quantity !== 0);
  if (moves.length === 0) return true;
  const result = await tx.query<{ ok: boolean }>(
    `WITH ${lockedStock(LINES)}, ${TAKE_IF_ENOUGH} SELECT ok FROM enough`,
    lineParams(moves),
  );
  return result.rows[0]?.ok === true;
}

/**
 * Units leave the warehouse's books: on hand and reserved both drop by the lines (e.g. short-picked
 * units found missing) and by the units of the held reservations selected by `held` (e.g. of shipments
 * that shipped), which become consumed in the same statement.
 */
export async function consume(tx: Queryable, lines: readonly StockLine[], held?: HeldReservations): Promise<void> {
  if (lines.length === 0 && (held === undefined || idsOf(held).length === 0)) return;
  const changed = held === undefined ? undefined : heldUnits(held, 'consumed');
  await tx.query(
    `WITH ${changed === undefined ? '' : `${changed.cte}, `}${lockedStock(
      changed === undefined ? LINES : `SELECT warehouse_id, sku, quantity FROM changed UNION ALL ${LINES}`,
    )}
     UPDATE inventory i SET on_hand = i.on_hand - w.quantity, reserved = i.reserved - w.quantity, updated_at = now()
       FROM wanted w JOIN locked l ON l.warehouse_id = w.warehouse_id AND l.sku = w.sku
      WHERE i.warehouse_id = w.warehouse_id AND i.sku = w.sku`,
    changed === undefined ? lineParams(lines) : [...lineParams(lines), changed.ids],
  );
}

function idsOf(held: HeldReservations): readonly string[] {
  return 'orderIds' in held ? held.orderIds : 'reservationIds' in held ? held.reservationIds : held.shipmentIds;
}

/** What each warehouse has free of these SKUs; with `lock`, the stock rows locked FOR UPDATE in (sku, warehouse) order. */
export async function availableStock(
  tx: Queryable,
  skus: readonly string[],
  options: { readonly lock?: boolean } = {},
): Promise<Array<{ sku: string; warehouse_id: string; available: number }>> {
  const result = await tx.query<{ sku: string; warehouse_id: string; available: number }>(
    options.lock === true
      ? `SELECT sku, warehouse_id, on_hand - reserved AS available FROM inventory WHERE sku = ANY($1)
        ORDER BY sku, warehouse_id FOR UPDATE`
      : 'SELECT sku, warehouse_id, on_hand - reserved AS available FROM inventory WHERE sku = ANY($1::text[])',
    [skus],
  );
  return result.rows;
}

/** The orders' held reservations, locked FOR UPDATE in (sku, warehouse) order. */
export async function heldReservations(
  tx: Queryable,
  orderIds: readonly string[],
): Promise<Array<{ reservation_id: string; order_id: string } & StockLine>> {
  const held = await tx.query<{ reservation_id: string; order_id: string } & StockLine>(
    `SELECT reservation_id, order_id, warehouse_id, sku, quantity FROM reservations
      WHERE order_id = ANY($1::uuid[]) AND status = 'held' ORDER BY sku, warehouse_id FOR UPDATE`,
    [orderIds],
  );
  return held.rows;
}
