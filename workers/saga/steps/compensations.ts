import { OrderEventType } from '../../../domain/events.js';
import { SagaStatus } from '../../../domain/order.js';
import { PlacementStepId, type VoidResult } from '../../../domain/placementSaga.js';
import { PspUnavailable } from '../../../platform/psp.js';
import type { SagaRecord } from '../sagaStore.js';
import { retryLater, type StepApplied, type StepApplyMany, type StepContext } from '../stepContext.js';

/** What voiding a saga's authorizations came to, or that the PSP did not answer. */
export type VoidAnswer = Exclude<VoidResult, { status: 'retrying' }> | PspUnavailable;

/**
 * Compensation of the authorization, the partner call: void it at the PSP. When the authorization's
 * outcome is unknown (the PSP never answered), the PSP is asked which authorizations it holds for this
 * saga, and each is voided; none means nothing to void. A PSP that does not answer is retried without
 * a deadline: a compensation must finish.
 */
export async function requestVoid(context: StepContext, saga: SagaRecord): Promise<VoidAnswer> {
  const auth = saga.steps.authorize_payment;
  try {
    const ids =
      auth?.status === 'succeeded'
        ? [auth.authorization_id]
        : (await context.psp.authorizationsFor(saga.saga_id))
            .filter((a) => a.status === 'authorized')
            .map((a) => a.authorization_id);
    const results = [];
    for (const id of ids)
      results.push(await context.psp.voidAuthorization(id, `${saga.saga_id}:${PlacementStepId.voidAuthorization}:${id}`));
    const refused = results.some((r) => r.kind === 'refused');
    if (refused) context.logger.error({ saga_id: saga.saga_id, order_id: saga.order_id }, 'PSP refused to void an authorization');
    return {
      status: 'succeeded',
      at: context.now().toISOString(),
      outcome: ids.length === 0 ? 'nothing-to-void' : refused ? 'refused' : 'voided',
      authorization_ids: ids,
    };
  } catch (error) {
    if (!(error instanceof PspUnavailable)) throw error;
    return error;
  }
}

/** Compensation of the authorization, the record, for every saga of the batch that asked (payments voided in one statement). */
export function applyVoids(context: StepContext, answers: ReadonlyMap<string, VoidAnswer>): StepApplyMany {
  return async (tx, targets) => {
    const applied = new Map<string, StepApplied>();
    const voidedOrders: string[] = [];
    for (const { saga, state } of targets) {
      const outcome = answers.get(saga.saga_id);
      if (outcome === undefined) continue;
      if (outcome instanceof PspUnavailable) {
        applied.set(saga.saga_id, {
          ...retryLater(context, state.steps.void_authorization, outcome),
          status: SagaStatus.compensating,
        });
      } else if (outcome.outcome === 'voided') {
        voidedOrders.push(saga.order_id);
        const payload = { saga_id: saga.saga_id, authorization_ids: outcome.authorization_ids };
        applied.set(saga.saga_id, {
          result: outcome,
          status: SagaStatus.compensating,
          events: [{ type: OrderEventType.paymentVoided, payload }],
        });
      } else {
        applied.set(saga.saga_id, { result: outcome, status: SagaStatus.compensating });
      }
    }
    if (voidedOrders.length > 0) {
      await tx.query(
        `UPDATE payments SET status = 'voided', updated_at = now() WHERE order_id = ANY($1::uuid[]) AND status = 'authorized'`,
        [voidedOrders],
      );
    }
    return applied;
  };
}

/**
 * Compensation of the reservation, for every saga of the batch at once: give every held unit back to
 * its warehouse, under the same locks as reservation takes them (inventory rows in (sku, warehouse)
 * order, in one statement: no deadlock).
 */
export function releaseInventory(context: StepContext): StepApplyMany {
  return async (tx, targets) => {
    const held = await tx.query<{
      reservation_id: string;
      order_id: string;
      warehouse_id: string;
      sku: string;
      quantity: number;
    }>(
      `SELECT reservation_id, order_id, warehouse_id, sku, quantity FROM reservations
        WHERE order_id = ANY($1::uuid[]) AND status = 'held' ORDER BY sku, warehouse_id FOR UPDATE`,
      [targets.map(({ saga }) => saga.order_id)],
    );
    const rows = held.rows;
    if (rows.length > 0) {
      await tx.query(
        `WITH given AS (
           SELECT warehouse_id, sku, sum(quantity)::int AS quantity
             FROM unnest($1::text[], $2::text[], $3::int[]) AS t(warehouse_id, sku, quantity)
            GROUP BY warehouse_id, sku
         ), locked AS (
           SELECT i.warehouse_id, i.sku FROM inventory i JOIN given g ON g.warehouse_id = i.warehouse_id AND g.sku = i.sku
            ORDER BY i.sku, i.warehouse_id
              FOR UPDATE OF i
         ), back AS (
           UPDATE inventory i SET reserved = i.reserved - g.quantity, updated_at = now()
             FROM given g JOIN locked l ON l.warehouse_id = g.warehouse_id AND l.sku = g.sku
            WHERE i.warehouse_id = g.warehouse_id AND i.sku = g.sku
         )
         UPDATE reservations SET status = 'released', updated_at = now() WHERE reservation_id = ANY($4::uuid[])`,
        [rows.map((r) => r.warehouse_id), rows.map((r) => r.sku), rows.map((r) => r.quantity), rows.map((r) => r.reservation_id)],
      );
    }
    const at = context.now().toISOString();
    const applied = new Map<string, StepApplied>();
    for (const { saga } of targets) {
      const released = rows
        .filter((r) => r.order_id === saga.order_id)
        .map(({ warehouse_id, sku, quantity }) => ({ warehouse_id, sku, quantity }));
      const events =
        released.length > 0 ? [{ type: OrderEventType.inventoryReleased, payload: { saga_id: saga.saga_id, released } }] : [];
      applied.set(saga.saga_id, { result: { status: 'succeeded', at, released }, status: SagaStatus.compensating, events });
    }
    return applied;
  };
}
