import { OrderEventType } from '../../domain/events.js';
import { AT_WAREHOUSE, LEFT_WAREHOUSE } from '../../domain/fulfillment.js';
import type { Address } from '../../domain/order.js';
import { SagaStatus } from '../../domain/order.js';
import { increases, type EditPlan } from '../../domain/orderEdit.js';
import { allocateStock, type Allocation, type WarehouseStock } from '../../domain/reservation.js';
import type { PoolClient } from '../../platform/db.js';
import { appendToOrder } from '../../platform/eventStore.js';
import { uuidv7 } from '../../platform/ids.js';
import { currentFulfillmentStatus, lockOrder } from '../../platform/orderProgress.js';
import { openAuthorizations, shrinkAuthorization } from '../../platform/payments.js';
import { PspUnavailable } from '../../platform/psp.js';
import { commitChangeStep, driveAgainIn, pspRetryDelayMs, waitForPsp, type ChangeSaga } from './changeSaga.js';
import type { ChangeContext, StepOutcome } from './changeContext.js';

export const ModificationStep = Object.freeze({
  holdShipments: 'hold_shipments',
  reserve: 'reserve',
  authorize: 'authorize',
  apply: 'apply',
  releaseDecrease: 'release_decrease',
  releaseAtPsp: 'release_at_psp',
  reject: 'reject',
} as const);

const WAIT_FOR_WMS_MS = 250;

type Request = EditPlan & { readonly shipping_address: Address | null };
type Recorded<T> = T & { readonly status: string };

/** Gives reserved units back to their warehouses (an undone reservation of this edit). */
async function unreserve(tx: PoolClient, allocations: readonly Allocation[]): Promise<void> {
  if (allocations.length === 0) return;
  await tx.query(
    `UPDATE inventory i SET reserved = i.reserved - a.quantity, updated_at = now()
       FROM (SELECT warehouse_id, sku, sum(quantity)::int AS quantity
               FROM unnest($1::text[], $2::text[], $3::int[]) AS t(warehouse_id, sku, quantity) GROUP BY 1, 2) a
      WHERE i.warehouse_id = a.warehouse_id AND i.sku = a.sku`,
    [allocations.map((a) => a.warehouse_id), allocations.map((a) => a.sku), allocations.map((a) => a.quantity)],
  );
}

/**
 * One step of an order edit (PATCH), each recorded in the saga with its effects:
 * 1. hold: ask the WMS to cancel the open shipments holding changed lines (all of them when the address
 *    changes) and wait; a shipment that left first means a changed line shipped → rejected;
 * 2. reserve what grows (added lines, higher quantities) from live stock under row locks;
 * 3. authorize what the total grows by beyond what is authorized (a new authorization at the PSP;
 *    the sandbox cannot raise one), waiting up to the PSP deadline;
 * 4. apply: lines, prices, total and address change, what shrank is released, the new authorization
 *    becomes a payment, `order.modified` — and the router routes the lines no shipment holds;
 * 5. when the total went down, the authorizations shrink by the difference (`payment.released`).
 * A failure undoes what was done (reservation given back, authorization voided) and ends with
 * `order.modification_rejected`; the order is as it was, its held lines routed again.
 */
export async function modificationStep(context: ChangeContext, saga: ChangeSaga): Promise<StepOutcome> {
  const { pool, leaseMs } = context;
  const request = saga.steps.request as Request;
  const touched = new Set(request.changes.map((c) => c.item_id));

  const held = saga.steps[ModificationStep.holdShipments] as Recorded<{ shipments: string[] }> | undefined;
  if (held === undefined) {
    await commitChangeStep(pool, saga.saga_id, ModificationStep.holdShipments, leaseMs, async (tx) => {
      await lockOrder(tx, saga.order_id);
      const open = await tx.query<{ shipment_id: string; warehouse_id: string }>(
        `SELECT s.shipment_id, s.warehouse_id FROM shipments s
          WHERE s.order_id = $1 AND s.status = ANY($2)
            AND ($3 OR EXISTS (SELECT 1 FROM shipment_items si WHERE si.shipment_id = s.shipment_id AND si.item_id = ANY($4::uuid[])))`,
        [saga.order_id, AT_WAREHOUSE, request.shipping_address !== null, [...touched]],
      );
      if (open.rows.length > 0) {
        await appendToOrder(
          tx,
          saga.order_id,
          open.rows.map((s) => ({
            type: OrderEventType.shipmentCancelRequested,
            payload: { saga_id: saga.saga_id, shipment_id: s.shipment_id, warehouse_id: s.warehouse_id, purpose: 'modification' },
          })),
        );
      }
      return { result: { status: 'succeeded', shipments: open.rows.map((s) => s.shipment_id) } };
    });
    return 'progressed';
  }
  if (saga.steps[ModificationStep.reserve] === undefined) {
    const statuses = await pool.query<{ status: string }>('SELECT status FROM shipments WHERE shipment_id = ANY($1::uuid[])', [
      held.shipments,
    ]);
    if (statuses.rows.some((s) => AT_WAREHOUSE.includes(s.status))) {
      await driveAgainIn(pool, saga.saga_id, WAIT_FOR_WMS_MS);
      return 'waiting';
    }
    if (statuses.rows.some((s) => LEFT_WAREHOUSE.includes(s.status))) return reject(context, saga, 'line_shipped');
  }

  const reserved = saga.steps[ModificationStep.reserve] as Recorded<{ allocations: Allocation[] }> | undefined;
  if (reserved === undefined) {
    await commitChangeStep(pool, saga.saga_id, ModificationStep.reserve, leaseMs, async (tx) => {
      await lockOrder(tx, saga.order_id);
      const wanted = increases(request);
      if (wanted.length === 0) return { result: { status: 'succeeded', allocations: [] } };
      const stock = await tx.query<{ sku: string; warehouse_id: string; available: number }>(
        `SELECT sku, warehouse_id, on_hand - reserved AS available FROM inventory WHERE sku = ANY($1)
          ORDER BY sku, warehouse_id FOR UPDATE`,
        [[...new Set(wanted.map((w) => w.sku))]],
      );
      const bySku = new Map<string, WarehouseStock[]>();
      for (const row of stock.rows) bySku.set(row.sku, [...(bySku.get(row.sku) ?? []), row]);
      const outcome = allocateStock(wanted, bySku);
      if (!outcome.ok) return { result: { status: 'failed', allocations: [], shortages: outcome.shortages } };
      await tx.query(
        `UPDATE inventory i SET reserved = i.reserved + a.quantity, updated_at = now()
           FROM (SELECT warehouse_id, sku, sum(quantity)::int AS quantity
                   FROM unnest($1::text[], $2::text[], $3::int[]) AS t(warehouse_id, sku, quantity) GROUP BY 1, 2) a
          WHERE i.warehouse_id = a.warehouse_id AND i.sku = a.sku`,
        [
          outcome.allocations.map((a) => a.warehouse_id),
          outcome.allocations.map((a) => a.sku),
          outcome.allocations.map((a) => a.quantity),
        ],
      );
      return { result: { status: 'succeeded', allocations: outcome.allocations } };
    });
    return 'progressed';
  }
  if (reserved.status === 'failed') return reject(context, saga, 'insufficient_stock');

  const applied = saga.steps[ModificationStep.apply] as Recorded<{ release?: number }> | undefined;
  if (applied !== undefined) return releaseDecrease(context, saga, applied.release ?? 0);

  const authorized = saga.steps[ModificationStep.authorize] as
    Recorded<{ payment_id?: string; authorization_id?: string; amount?: number; reason?: string }> | undefined;
  if (authorized === undefined) {
    const order = await pool.query<{ currency: string; token: string; authorized: number }>(
      `SELECT o.currency, o.payment_method->>'token' AS token,
              (SELECT coalesce(sum(amount), 0) FROM payments p WHERE p.order_id = o.order_id AND p.status NOT IN ('voided', 'declined'))::bigint AS authorized
         FROM orders o WHERE o.order_id = $1 AND o.created_at = uuid7_time($1)`,
      [saga.order_id],
    );
    const row = order.rows[0];
    const delta = row === undefined ? 0 : request.new_total - row.authorized;
    let result: Recorded<{ payment_id?: string; authorization_id?: string; amount?: number; reason?: string }>;
    if (row === undefined || delta <= 0) result = { status: 'skipped' };
    else {
      try {
        const outcome = await context.psp.authorize({
          amount: delta,
          currency: row.currency,
          token: row.token,
          reference: saga.saga_id,
          idempotencyKey: `${saga.saga_id}:authorize`,
        });
        result =
          outcome.kind === 'authorized'
            ? { status: 'succeeded', payment_id: uuidv7(), authorization_id: outcome.authorizationId, amount: delta }
            : { status: 'failed', reason: outcome.code };
      } catch (error) {
        if (!(error instanceof PspUnavailable)) throw error;
        const startedAt = await pool.query<{ ms: number }>(
          'SELECT (extract(epoch FROM now() - created_at) * 1000)::bigint AS ms FROM sagas WHERE saga_id = $1',
          [saga.saga_id],
        );
        if ((startedAt.rows[0]?.ms ?? 0) < context.pspRetryDeadlineMs) {
          await driveAgainIn(pool, saga.saga_id, pspRetryDelayMs(error));
          return 'waiting';
        }
        result = { status: 'failed', reason: 'payment_unavailable' };
      }
    }
    await commitChangeStep(pool, saga.saga_id, ModificationStep.authorize, leaseMs, async () => ({ result }));
    return 'progressed';
  }
  if (authorized.status === 'failed')
    return reject(context, saga, authorized.reason === 'payment_unavailable' ? 'payment_unavailable' : 'payment_declined');

  await commitChangeStep(pool, saga.saga_id, ModificationStep.apply, leaseMs, async (tx) => {
    await lockOrder(tx, saga.order_id);
    const currency = await tx.query<{ currency: string }>(
      'SELECT currency FROM orders WHERE order_id = $1 AND created_at = uuid7_time($1)',
      [saga.order_id],
    );
    for (const change of request.changes) {
      if (change.to < change.from) {
        // Release what shrank from the line's stock no shipment holds (its shipments were cancelled).
        const holds = await tx.query<{ reservation_id: string; warehouse_id: string; sku: string; quantity: number }>(
          `SELECT reservation_id, warehouse_id, sku, quantity FROM reservations
            WHERE order_id = $1 AND item_id = $2 AND status = 'held' AND shipment_id IS NULL ORDER BY quantity DESC FOR UPDATE`,
          [saga.order_id, change.item_id],
        );
        let release = change.from - change.to;
        for (const h of holds.rows) {
          if (release === 0) break;
          const take = Math.min(release, h.quantity);
          await tx.query(`UPDATE reservations SET status = 'released', updated_at = now() WHERE reservation_id = $1`, [
            h.reservation_id,
          ]);
          if (h.quantity > take) {
            await tx.query(
              `INSERT INTO reservations (reservation_id, order_id, item_id, warehouse_id, sku, quantity) VALUES ($1, $2, $3, $4, $5, $6)`,
              [uuidv7(), saga.order_id, change.item_id, h.warehouse_id, h.sku, h.quantity - take],
            );
          }
          await unreserve(tx, [{ item_id: change.item_id, warehouse_id: h.warehouse_id, sku: h.sku, quantity: take }]);
          release -= take;
        }
      }
      await tx.query(
        `UPDATE order_items SET quantity = CASE WHEN $2 = 0 THEN quantity ELSE quantity_cancelled + $2 END,
                quantity_cancelled = CASE WHEN $2 = 0 THEN quantity ELSE quantity_cancelled END,
                status = CASE WHEN $2 = 0 THEN 'removed' ELSE status END
          WHERE item_id = $1`,
        [change.item_id, change.to],
      );
    }
    if (request.added.length > 0) {
      await tx.query(
        `INSERT INTO order_items (item_id, order_id, order_created_at, line_no, sku, quantity, unit_price, status)
         SELECT t.item_id, $1, uuid7_time($1), (SELECT max(line_no) FROM order_items WHERE order_id = $1) + t.n, t.sku, t.quantity, t.unit_price, 'reserved'
           FROM unnest($2::uuid[], $3::text[], $4::int[], $5::bigint[]) WITH ORDINALITY AS t(item_id, sku, quantity, unit_price, n)`,
        [
          saga.order_id,
          request.added.map((a) => a.item_id),
          request.added.map((a) => a.sku),
          request.added.map((a) => a.quantity),
          request.added.map((a) => a.unit_price),
        ],
      );
    }
    const allocations = reserved.allocations;
    if (allocations.length > 0) {
      await tx.query(
        `INSERT INTO reservations (reservation_id, order_id, item_id, warehouse_id, sku, quantity)
         SELECT r, $1, i, w, s, q FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int[]) AS t(r, i, w, s, q)`,
        [
          saga.order_id,
          allocations.map(() => uuidv7()),
          allocations.map((a) => a.item_id),
          allocations.map((a) => a.warehouse_id),
          allocations.map((a) => a.sku),
          allocations.map((a) => a.quantity),
        ],
      );
    }
    await tx.query(
      `UPDATE orders SET total_amount = $2, shipping_address = coalesce($3::jsonb, shipping_address)
        WHERE order_id = $1 AND created_at = uuid7_time($1)`,
      [saga.order_id, request.new_total, request.shipping_address === null ? null : JSON.stringify(request.shipping_address)],
    );
    const events = [];
    if (authorized.status === 'succeeded' && authorized.payment_id !== undefined) {
      await tx.query(
        `INSERT INTO payments (payment_id, order_id, method, currency, amount, authorization_code, status)
         VALUES ($1, $2, 'card', $3, $4, $5, 'authorized')`,
        [
          authorized.payment_id,
          saga.order_id,
          currency.rows[0]?.currency ?? 'USD',
          authorized.amount,
          authorized.authorization_id,
        ],
      );
      events.push({
        type: OrderEventType.paymentAuthorized,
        payload: {
          saga_id: saga.saga_id,
          payment_id: authorized.payment_id,
          amount: authorized.amount,
          currency: currency.rows[0]?.currency,
        },
      });
    }
    const status = await currentFulfillmentStatus(tx, saga.order_id);
    events.push({
      type: OrderEventType.orderModified,
      payload: {
        saga_id: saga.saga_id,
        changes: request.changes.map((c) => ({ item_id: c.item_id, sku: c.sku, from: c.from, to: c.to })),
        added: request.added,
        address_changed: request.shipping_address !== null,
        previous_total: request.previous_total,
        total_amount: request.new_total,
        order_status: status,
      },
    });
    await appendToOrder(tx, saga.order_id, events, { status });
    const authorizedNow = await tx.query<{ total: number }>(
      `SELECT coalesce(sum(amount), 0)::bigint AS total FROM payments WHERE order_id = $1 AND status IN ('authorized', 'partially_captured', 'captured')`,
      [saga.order_id],
    );
    const release = Math.max(0, (authorizedNow.rows[0]?.total ?? 0) - request.new_total);
    return release > 0
      ? { result: { status: 'succeeded', release } }
      : { result: { status: 'succeeded' }, status: SagaStatus.completed };
  });
  return 'progressed';
}

/**
 * After an edit lowered the total: the authorizations shrink by the difference, newest first, each by
 * no more than it has neither captured nor about to capture. Our books first (under the order lock, so
 * a shipment shipping now captures within the new amount), then the PSP (a partial reversal per
 * authorization, keyed by saga and payment); a PSP that does not answer is asked again later.
 */
async function releaseDecrease(context: ChangeContext, saga: ChangeSaga, amount: number): Promise<StepOutcome> {
  const { pool, leaseMs } = context;
  type Release = { payment_id: string; authorization_id: string; amount: number };
  const booked = saga.steps[ModificationStep.releaseDecrease] as Recorded<{ releases: Release[] }> | undefined;
  if (booked === undefined) {
    await commitChangeStep(pool, saga.saga_id, ModificationStep.releaseDecrease, leaseMs, async (tx) => {
      await lockOrder(tx, saga.order_id);
      let left = amount;
      const releases: Array<Release & { amount_authorized: number }> = [];
      for (const p of await openAuthorizations(tx, saga.order_id, { newestFirst: true, lock: true })) {
        const take = Math.min(left, Math.max(0, p.amount - p.committed));
        if (take === 0) continue;
        const authorized = await shrinkAuthorization(tx, p.payment_id, take);
        releases.push({
          payment_id: p.payment_id,
          authorization_id: p.authorization_code,
          amount: take,
          amount_authorized: authorized,
        });
        left -= take;
      }
      if (releases.length > 0) {
        await appendToOrder(tx, saga.order_id, [
          {
            type: OrderEventType.paymentReleased,
            payload: { saga_id: saga.saga_id, released: releases },
          },
        ]);
      }
      return { result: { status: 'succeeded', releases } };
    });
    return 'progressed';
  }
  try {
    for (const r of booked.releases) {
      const outcome = await context.psp.reverse(r.authorization_id, r.amount, `${saga.saga_id}:release:${r.payment_id}`);
      if (outcome.kind !== 'voided')
        context.logger.warn(
          { saga_id: saga.saga_id, payment_id: r.payment_id, outcome },
          'PSP did not reverse part of an authorization',
        );
    }
  } catch (error) {
    return waitForPsp(pool, saga.saga_id, error);
  }
  await commitChangeStep(pool, saga.saga_id, ModificationStep.releaseAtPsp, leaseMs, async () => ({
    result: { status: 'succeeded' },
    status: SagaStatus.completed,
  }));
  return 'done';
}

/** Undoes what the edit did (reserved stock given back, a new authorization voided) and ends it rejected. */
async function reject(context: ChangeContext, saga: ChangeSaga, reason: string): Promise<StepOutcome> {
  const reserved = saga.steps[ModificationStep.reserve] as Recorded<{ allocations: Allocation[] }> | undefined;
  const authorized = saga.steps[ModificationStep.authorize] as Recorded<{ authorization_id?: string }> | undefined;
  if (authorized?.status === 'succeeded' || reason === 'payment_unavailable') {
    try {
      const ids =
        authorized?.authorization_id !== undefined
          ? [authorized.authorization_id]
          : (await context.psp.authorizationsFor(saga.saga_id))
              .filter((a) => a.status === 'authorized')
              .map((a) => a.authorization_id);
      for (const id of ids) await context.psp.voidAuthorization(id, `${saga.saga_id}:void:${id}`);
    } catch (error) {
      return waitForPsp(context.pool, saga.saga_id, error);
    }
  }
  await commitChangeStep(context.pool, saga.saga_id, ModificationStep.reject, context.leaseMs, async (tx) => {
    await lockOrder(tx, saga.order_id);
    if (reserved?.status === 'succeeded') await unreserve(tx, reserved.allocations);
    const status = await currentFulfillmentStatus(tx, saga.order_id);
    await appendToOrder(tx, saga.order_id, [
      { type: OrderEventType.orderModificationRejected, payload: { saga_id: saga.saga_id, reason, order_status: status } },
    ]);
    context.logger.info({ order_id: saga.order_id, saga_id: saga.saga_id, reason }, 'order edit rejected; nothing changed');
    return { result: { status: 'succeeded', reason }, status: SagaStatus.failed };
  });
  return 'done';
}
