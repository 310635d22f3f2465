import { OrderEventType } from '../../domain/events.js';
import { AT_WAREHOUSE } from '../../domain/fulfillment.js';
import {
  authorizationUnanswered,
  ModificationStepId,
  nextModificationAction,
  type AuthorizationRelease,
  type AuthorizeResult,
  type ModificationAction,
  type ModificationRequest,
  type ModificationState,
  type ModificationSteps,
} from '../../domain/modificationSaga.js';
import { SagaStatus } from '../../domain/order.js';
import { increases, type LineChange } from '../../domain/orderEdit.js';
import { allocateStock } from '../../domain/reservation.js';
import type { PoolClient } from '../../platform/db.js';
import { uuidv7 } from '../../platform/ids.js';
import { PspUnavailable } from '../../platform/psp.js';
import { appendToOrder, type NewEvent } from '../../store/eventStore.js';
import { lockOrder } from '../../store/orderLock.js';
import { currentFulfillmentStatus } from '../../store/orderProgress.js';
import { openAuthorizations, shrinkAuthorization } from '../../store/payments.js';
import * as stock from '../../store/stock.js';
import { commitChangeStep, nowOf, waitForPsp, waitUntil, type ChangeSaga } from './changeSaga.js';
import type { ChangeContext, StepOutcome } from './changeContext.js';

/**
 * One step of an order edit: the held shipments' statuses, read; the next action, asked of the
 * workflow (domain/modificationSaga.ts); its effects, done here, each recorded in the saga.
 */
export async function modificationStep(context: ChangeContext, saga: ChangeSaga): Promise<StepOutcome> {
  // step_results as this workflow recorded them (the request by the PATCH command).
  const steps = saga.steps as unknown as ModificationSteps;
  const state: ModificationState = { status: saga.status, steps, startedAt: saga.created_at.toISOString() };
  const timing = { now: nowOf(context), pspRetryDeadlineMs: context.pspRetryDeadlineMs };
  const held =
    steps.hold_shipments !== undefined && steps.reserve === undefined
      ? await statusesOf(context, steps.hold_shipments.shipments)
      : [];
  const action = nextModificationAction(state, { statuses: held }, timing);
  switch (action.kind) {
    case 'hold_shipments':
      return holdShipments(context, saga, steps.request);
    case 'reserve':
      return reserve(context, saga, steps.request);
    case 'authorize':
      return authorize(context, saga, state, timing);
    case 'apply':
      return apply(context, saga, steps);
    case 'release_decrease':
      return releaseDecrease(context, saga, action.amount);
    case 'release_at_psp':
      return releaseAtPsp(context, saga, action.releases);
    case 'reject':
      return reject(context, saga, steps, action);
    case 'wait':
      return waitUntil(context, saga, action);
    case 'done':
      return 'done';
    default:
      return assertNever(action);
  }
}

async function statusesOf(context: ChangeContext, shipmentIds: readonly string[]): Promise<string[]> {
  const statuses = await context.pool.query<{ status: string }>(
    'SELECT status FROM shipments WHERE shipment_id = ANY($1::uuid[])',
    [shipmentIds],
  );
  return statuses.rows.map((r) => r.status);
}

/** The WMS is asked to cancel the open shipments holding changed lines (all of them when the address changes). */
function holdShipments(context: ChangeContext, saga: ChangeSaga, request: ModificationRequest): Promise<StepOutcome> {
  const touched = request.changes.map((c) => c.item_id);
  return commitChangeStep(context, saga, ModificationStepId.holdShipments, async (tx) => {
    await lockOrder(tx, saga.order_id);
    const open = await tx.query<{ shipment_id: string; warehouse_id: string }>(
      `SELECT s.shipment_id, s.warehouse_id FROM shipments s
        WHERE s.order_id = $1 AND s.status = ANY($2)
          AND ($3 OR EXISTS (SELECT 1 FROM shipment_items si WHERE si.shipment_id = s.shipment_id AND si.item_id = ANY($4::uuid[])))`,
      [saga.order_id, AT_WAREHOUSE, request.shipping_address !== null, touched],
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
}

/** What grows (added lines, higher quantities) is reserved from live stock under row locks. */
function reserve(context: ChangeContext, saga: ChangeSaga, request: ModificationRequest): Promise<StepOutcome> {
  return commitChangeStep(context, saga, ModificationStepId.reserve, async (tx) => {
    await lockOrder(tx, saga.order_id);
    const wanted = increases(request);
    if (wanted.length === 0) return { result: { status: 'succeeded', allocations: [] } };
    const free = await stock.availableStock(tx, [...new Set(wanted.map((w) => w.sku))], { lock: true });
    const bySku = Map.groupBy(free, (row) => row.sku);
    const outcome = allocateStock(wanted, bySku);
    if (!outcome.ok) return { result: { status: 'failed', allocations: [], shortages: outcome.shortages } };
    // The rows are locked since the read, so what was allocated is there to take.
    if (!(await stock.reserve(tx, outcome.allocations))) throw new Error('stock moved under its lock');
    return { result: { status: 'succeeded', allocations: outcome.allocations } };
  });
}

/**
 * What the total grows by beyond what is authorized is authorized anew at the PSP (the sandbox cannot
 * raise an authorization). A PSP that does not answer: asked again, until the workflow gives up.
 */
async function authorize(
  context: ChangeContext,
  saga: ChangeSaga,
  state: ModificationState,
  timing: Parameters<typeof authorizationUnanswered>[1],
): Promise<StepOutcome> {
  const order = await context.pool.query<{ currency: string; token: string; authorized: number }>(
    `SELECT o.currency, o.payment_method->>'token' AS token,
            (SELECT coalesce(sum(amount), 0) FROM payments p WHERE p.order_id = o.order_id AND p.status NOT IN ('voided', 'declined'))::bigint AS authorized
       FROM orders o WHERE o.order_id = $1 AND o.created_at = uuid7_time($1)`,
    [saga.order_id],
  );
  const row = order.rows[0];
  const delta = row === undefined ? 0 : state.steps.request.new_total - row.authorized;
  let result: AuthorizeResult;
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
      const next = authorizationUnanswered(state, timing, error.retryAfterMs);
      if (next.kind === 'wait') return waitUntil(context, saga, next);
      result = next.result;
    }
  }
  return commitChangeStep(context, saga, ModificationStepId.authorize, async () => ({ result }));
}

/**
 * The edit takes effect in one transaction: lines, prices, total and address change, what shrank is
 * released, the new authorization becomes a payment, `order.modified`. Ends the saga unless the
 * authorizations now hold more than the new total.
 */
function apply(context: ChangeContext, saga: ChangeSaga, steps: ModificationSteps): Promise<StepOutcome> {
  const { request } = steps;
  return commitChangeStep(context, saga, ModificationStepId.apply, async (tx) => {
    await lockOrder(tx, saga.order_id);
    const currency = await tx.query<{ currency: string }>(
      'SELECT currency FROM orders WHERE order_id = $1 AND created_at = uuid7_time($1)',
      [saga.order_id],
    );
    for (const change of request.changes) {
      if (change.to < change.from) await releaseShrunk(tx, saga.order_id, change);
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
    const allocations = steps.reserve?.status === 'succeeded' ? steps.reserve.allocations : [];
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
    const events: NewEvent[] = [];
    const authorized = steps.authorize;
    if (authorized?.status === 'succeeded') {
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
}

/** Releases what a line shrank by from its stock no shipment holds (its shipments were cancelled by the hold). */
async function releaseShrunk(tx: PoolClient, orderId: string, change: LineChange): Promise<void> {
  const holds = await tx.query<{ reservation_id: string; warehouse_id: string; sku: string; quantity: number }>(
    `SELECT reservation_id, warehouse_id, sku, quantity FROM reservations
      WHERE order_id = $1 AND item_id = $2 AND status = 'held' AND shipment_id IS NULL ORDER BY quantity DESC FOR UPDATE`,
    [orderId, change.item_id],
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
        [uuidv7(), orderId, change.item_id, h.warehouse_id, h.sku, h.quantity - take],
      );
    }
    await stock.release(tx, [{ warehouse_id: h.warehouse_id, sku: h.sku, quantity: take }]);
    release -= take;
  }
}

/**
 * After an edit lowered the total, in our books first: the authorizations shrink by the difference,
 * newest first, each by no more than it has neither captured nor about to capture (under the order
 * lock, so a shipment shipping now captures within the new amount); `payment.released`.
 */
function releaseDecrease(context: ChangeContext, saga: ChangeSaga, amount: number): Promise<StepOutcome> {
  return commitChangeStep(context, saga, ModificationStepId.releaseDecrease, async (tx) => {
    await lockOrder(tx, saga.order_id);
    let left = amount;
    const releases: Array<AuthorizationRelease & { amount_authorized: number }> = [];
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
        { type: OrderEventType.paymentReleased, payload: { saga_id: saga.saga_id, released: releases } },
      ]);
    }
    return { result: { status: 'succeeded', releases } };
  });
}

/** Then at the PSP: a partial reversal per authorization, keyed by saga and payment; a PSP that does not answer is asked again later. */
async function releaseAtPsp(
  context: ChangeContext,
  saga: ChangeSaga,
  releases: readonly AuthorizationRelease[],
): Promise<StepOutcome> {
  try {
    for (const r of releases) {
      const outcome = await context.psp.reverse(r.authorization_id, r.amount, `${saga.saga_id}:release:${r.payment_id}`);
      if (outcome.kind !== 'voided')
        context.logger.warn(
          { saga_id: saga.saga_id, payment_id: r.payment_id, outcome },
          'PSP did not reverse part of an authorization',
        );
    }
  } catch (error) {
    return waitForPsp(context, saga, error);
  }
  return commitChangeStep(context, saga, ModificationStepId.releaseAtPsp, async () => ({
    result: { status: 'succeeded' },
    status: SagaStatus.completed,
  }));
}

/**
 * The compensations the workflow names, in its order: the new authorization voided at the PSP (or,
 * when the PSP never answered, whatever it holds for the edit), then, with the rejection, the reserved
 * stock given back; `order.modification_rejected`. The order is as it was.
 */
async function reject(
  context: ChangeContext,
  saga: ChangeSaga,
  steps: ModificationSteps,
  action: Extract<ModificationAction, { kind: 'reject' }>,
): Promise<StepOutcome> {
  if (action.undo.includes('void_authorization')) {
    try {
      const ids =
        steps.authorize?.status === 'succeeded'
          ? [steps.authorize.authorization_id]
          : (await context.psp.authorizationsFor(saga.saga_id))
              .filter((a) => a.status === 'authorized')
              .map((a) => a.authorization_id);
      for (const id of ids) await context.psp.voidAuthorization(id, `${saga.saga_id}:void:${id}`);
    } catch (error) {
      return waitForPsp(context, saga, error);
    }
  }
  return commitChangeStep(context, saga, ModificationStepId.reject, async (tx) => {
    await lockOrder(tx, saga.order_id);
    if (action.undo.includes('unreserve') && steps.reserve !== undefined) await stock.release(tx, steps.reserve.allocations);
    const status = await currentFulfillmentStatus(tx, saga.order_id);
    await appendToOrder(tx, saga.order_id, [
      {
        type: OrderEventType.orderModificationRejected,
        payload: { saga_id: saga.saga_id, reason: action.reason, order_status: status },
      },
    ]);
    context.logger.info(
      { order_id: saga.order_id, saga_id: saga.saga_id, reason: action.reason },
      'order edit rejected; nothing changed',
    );
    return { result: { status: 'succeeded', reason: action.reason }, status: SagaStatus.failed };
  });
}

function assertNever(action: never): never {
  throw new Error(`unknown modification action ${JSON.stringify(action)}`);
}
