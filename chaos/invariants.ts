import type { Pool } from '../platform/db.js';
import { quoteIdent } from '../platform/migrate.js';
import { DeadLetterStatus, listDeadLetters } from '../platform/deadLetters.js';
import { verify } from '../scripts/replay.js';
import { verifyChains } from '../scripts/audit.js';

/** One invariant checked after a chaos run: what it says, whether it held, and the evidence. */
export interface InvariantResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface InvariantContext {
  readonly pool: Pool;
  /** The PSP sandbox's ledger schema (its own tables: authorizations, captures, refunds). */
  readonly pspSchema: string;
  /** Every order the API accepted (202) during the run. */
  readonly orderIds: readonly string[];
  /** Stock on hand per `warehouse|sku` before the first order. */
  readonly stockAtStart: ReadonlyMap<string, number>;
}

const FINAL = ['rejected', 'cancelled', 'delivered'];

/** Event types an order has at most once, whatever was redelivered or retried. */
const ONCE_PER_ORDER = ['order.placed', 'order.confirmed', 'order.rejected', 'order.cancelled'];
/** Event types a shipment has at most once. */
const ONCE_PER_SHIPMENT = ['shipment.created', 'shipment.picked', 'shipment.packed', 'shipment.shipped', 'shipment.delivered'];

const sample = (rows: readonly unknown[], n = 5) =>
  rows.length === 0 ? '' : ` e.g. ${JSON.stringify(rows.slice(0, n))}${rows.length > n ? ` (+${rows.length - n})` : ''}`;

/**
 * The invariants of a quiet system after faults (issue 11): every order final, stock conserved, money
 * matching the PSP's ledger, one event per transition, gapless document numbers, read models equal to
 * a replay, every order's history an intact hash chain, and no dead letter left.
 */
export async function checkInvariants(context: InvariantContext): Promise<InvariantResult[]> {
  const { pool, orderIds } = context;
  const results: InvariantResult[] = [];
  const check = async (name: string, run: () => Promise<{ ok: boolean; detail: string }>) => {
    try {
      results.push({ name, ...(await run()) });
    } catch (error) {
      results.push({ name, ok: false, detail: `check failed: ${String(error)}` });
    }
  };

  await check('every accepted order is final (rejected, cancelled or delivered)', async () => {
    const open = await pool.query<{ order_id: string; status: string }>(
      `SELECT order_id, status::text FROM orders WHERE order_id = ANY($1::uuid[]) AND NOT (status::text = ANY($2))`,
      [orderIds, FINAL],
    );
    const found = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM orders WHERE order_id = ANY($1::uuid[])', [
      orderIds,
    ]);
    const missing = orderIds.length - (found.rows[0]?.n ?? 0);
    return {
      ok: open.rows.length === 0 && missing === 0,
      detail: `${orderIds.length} accepted, ${missing} missing, ${open.rows.length} not final${sample(open.rows)}`,
    };
  });

  await check('no saga left running or compensating', async () => {
    const running = await pool.query<{ saga_id: string; saga_type: string; current_step: string }>(
      `SELECT saga_id, saga_type, current_step FROM sagas WHERE status IN ('running', 'compensating')`,
    );
    return { ok: running.rows.length === 0, detail: `${running.rows.length} unfinished${sample(running.rows)}` };
  });

  await check('stock conserved: on hand + shipped = at start; reserved = what reservations hold', async () => {
    const rows = await pool.query<{
      warehouse_id: string;
      sku: string;
      on_hand: number;
      reserved: number;
      held: number;
      left: number;
    }>(
      `SELECT i.warehouse_id, i.sku, i.on_hand, i.reserved,
              coalesce((SELECT sum(r.quantity) FROM reservations r
                         WHERE r.warehouse_id = i.warehouse_id AND r.sku = i.sku AND r.status = 'held'), 0)::int AS held,
              coalesce((SELECT sum(si.quantity) FROM shipment_items si JOIN shipments s ON s.shipment_id = si.shipment_id
                         WHERE s.warehouse_id = i.warehouse_id AND si.sku = i.sku
                           AND s.status IN ('shipped', 'in_transit', 'delivered')), 0)::int AS left
         FROM inventory i`,
    );
    const broken = rows.rows.filter((r) => {
      const start = context.stockAtStart.get(`${r.warehouse_id}|${r.sku}`);
      return start === undefined || r.on_hand + r.left !== start || r.reserved !== r.held || r.reserved > r.on_hand;
    });
    return { ok: broken.length === 0, detail: `${rows.rows.length} stock rows, ${broken.length} off${sample(broken)}` };
  });

  await check('no stock held by a final order', async () => {
    const held = await pool.query<{ order_id: string; quantity: number }>(
      `SELECT r.order_id, sum(r.quantity)::int AS quantity FROM reservations r
         JOIN orders o ON o.order_id = r.order_id AND o.created_at = uuid7_time(r.order_id)
        WHERE r.status = 'held' AND o.status::text = ANY($1) GROUP BY r.order_id`,
      [FINAL],
    );
    return { ok: held.rows.length === 0, detail: `${held.rows.length} final orders still hold stock${sample(held.rows)}` };
  });

  await check('money: captured ≤ authorized, refunded ≤ captured, and our books equal the PSP ledger', async () => {
    const psp = quoteIdent(context.pspSchema);
    const rows = await pool.query<{ payment_id: string; ours: string; theirs: string | null }>(
      `SELECT p.payment_id,
              concat_ws('/', p.amount, p.amount_captured, p.amount_refunded) AS ours,
              concat_ws('/', a.amount, a.amount_captured, a.amount_refunded) AS theirs
         FROM payments p LEFT JOIN ${psp}.authorizations a ON a.authorization_id::text = p.authorization_code
        WHERE p.order_id = ANY($1::uuid[])`,
      [orderIds],
    );
    const differ = rows.rows.filter((r) => r.theirs === null || r.ours !== r.theirs);
    const overdrawn = await pool.query<{ payment_id: string }>(
      `SELECT payment_id FROM payments WHERE order_id = ANY($1::uuid[]) AND (amount_captured > amount OR amount_refunded > amount_captured)`,
      [orderIds],
    );
    return {
      ok: differ.length === 0 && overdrawn.rows.length === 0,
      detail: `${rows.rows.length} payments; ${differ.length} differ from the PSP (amount/captured/refunded)${sample(differ)}; ${overdrawn.rows.length} overdrawn`,
    };
  });

  await check('no authorization open at the PSP that our books do not own', async () => {
    const psp = quoteIdent(context.pspSchema);
    const orphans = await pool.query<{ authorization_id: string; status: string; amount: number }>(
      `SELECT a.authorization_id, a.status, a.amount FROM ${psp}.authorizations a
        WHERE a.status IN ('authorized', 'partially_captured') AND a.amount > a.amount_captured
          AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.authorization_code = a.authorization_id::text
                            AND p.status IN ('authorized', 'partially_captured'))`,
    );
    return { ok: orphans.rows.length === 0, detail: `${orphans.rows.length} open without an owner${sample(orphans.rows)}` };
  });

  await check('one event per transition (no step recorded twice)', async () => {
    const perOrder = await pool.query<{ order_id: string; type: string; n: number }>(
      `SELECT order_id, type, count(*)::int AS n FROM order_events
        WHERE order_id = ANY($1::uuid[]) AND type = ANY($2) GROUP BY order_id, type HAVING count(*) > 1`,
      [orderIds, ONCE_PER_ORDER],
    );
    const perShipment = await pool.query<{ shipment_id: string; type: string; n: number }>(
      `SELECT payload->>'shipment_id' AS shipment_id, type, count(*)::int AS n FROM order_events
        WHERE order_id = ANY($1::uuid[]) AND type = ANY($2) GROUP BY 1, 2 HAVING count(*) > 1`,
      [orderIds, ONCE_PER_SHIPMENT],
    );
    // An edit that raises the total authorizes the difference: one payment.authorized per payment.
    const perPayment = await pool.query<{ id: string; type: string; n: number }>(
      `SELECT coalesce(payload->>'capture_id', payload->>'payment_id') AS id, type, count(*)::int AS n FROM order_events
        WHERE order_id = ANY($1::uuid[]) AND type IN ('payment.captured', 'payment.authorized') GROUP BY 1, 2 HAVING count(*) > 1`,
      [orderIds],
    );
    const twice = [...perOrder.rows, ...perShipment.rows, ...perPayment.rows];
    return { ok: twice.length === 0, detail: `${twice.length} transitions recorded more than once${sample(twice)}` };
  });

  await check('invoice and credit-note numbers gapless', async () => {
    const gaps = await pool.query<{ kind: string; year: number; documents: number; highest: number }>(
      `SELECT kind, year, count(*)::int AS documents, max(seq)::int AS highest FROM invoices GROUP BY kind, year
       HAVING count(*) <> max(seq) OR min(seq) <> 1`,
    );
    const all = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM invoices');
    return {
      ok: gaps.rows.length === 0,
      detail: `${all.rows[0]?.n ?? 0} documents; ${gaps.rows.length} series with gaps${sample(gaps.rows)}`,
    };
  });

  await check('every read model equals a replay of the event log', async () => {
    const lines: string[] = [];
    const differences = await verify(pool, (line) => lines.push(line));
    return {
      ok: differences === 0,
      detail: `${differences} differences${lines.length > 0 ? `: ${lines.slice(-3).join(' | ')}` : ''}`,
    };
  });

  await check("every order's event history is an intact hash chain", async () => {
    const { orders, events, broken } = await verifyChains(pool, {}, () => undefined);
    return {
      ok: broken.length === 0,
      detail: `${orders} orders, ${events} events${broken.length === 0 ? '' : `; ${broken.length} broken link(s)${sample(broken)}`}`,
    };
  });

  await check('no dead letter left', async () => {
    const dead = await listDeadLetters(pool, { status: DeadLetterStatus.dead, limit: 20 });
    return {
      ok: dead.length === 0,
      detail:
        dead.length === 0
          ? 'none'
          : `${dead.length}${sample(dead.map((d) => ({ group: d.source, type: d.type, error: d.error })))}`,
    };
  });

  return results;
}
