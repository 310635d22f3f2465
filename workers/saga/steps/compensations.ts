import { OrderEventType } from '../../../domain/events.js';
import { SagaStatus } from '../../../domain/order.js';
import { PlacementStepId, type PlacementSagaState, type VoidResult } from '../../../domain/placementSaga.js';
import { PspUnavailable } from '../../../platform/psp.js';
import type { SagaRecord } from '../sagaStore.js';
import { commitStep, retryLater, type StepContext } from '../stepContext.js';

/**
 * Compensation of the authorization: void it at the PSP. When the authorization's outcome is unknown
 * (the PSP never answered), the PSP is asked which authorizations it holds for this saga, and each is
 * voided; none means nothing to void. A PSP that does not answer is retried without a deadline:
 * a compensation must finish.
 */
export async function voidAuthorization(context: StepContext, saga: SagaRecord): Promise<PlacementSagaState> {
  const auth = saga.steps.authorize_payment;
  let outcome: VoidResult | PspUnavailable;
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
    outcome = {
      status: 'succeeded',
      at: context.now().toISOString(),
      outcome: ids.length === 0 ? 'nothing-to-void' : refused ? 'refused' : 'voided',
      authorization_ids: ids,
    };
  } catch (error) {
    if (!(error instanceof PspUnavailable)) throw error;
    outcome = error;
  }

  return commitStep(context, saga, PlacementStepId.voidAuthorization, async (tx, state) => {
    if (outcome instanceof PspUnavailable) {
      return { ...retryLater(context, state.steps.void_authorization, outcome), status: SagaStatus.compensating };
    }
    if (outcome.status === 'succeeded' && outcome.outcome === 'voided') {
      await tx.query(`UPDATE payments SET status = 'voided', updated_at = now() WHERE order_id = $1 AND status = 'authorized'`, [
        saga.order_id,
      ]);
      const payload = { saga_id: saga.saga_id, authorization_ids: outcome.authorization_ids };
      return { result: outcome, status: SagaStatus.compensating, events: [{ type: OrderEventType.paymentVoided, payload }] };
    }
    return { result: outcome, status: SagaStatus.compensating };
  });
}

/** Compensation of the reservation: give every held unit back to its warehouse, under the same locks. */
export async function releaseInventory(context: StepContext, saga: SagaRecord): Promise<PlacementSagaState> {
  return commitStep(context, saga, PlacementStepId.releaseInventory, async (tx) => {
    const held = await tx.query<{ reservation_id: string; warehouse_id: string; sku: string; quantity: number }>(
      `SELECT reservation_id, warehouse_id, sku, quantity FROM reservations
        WHERE order_id = $1 AND status = 'held' ORDER BY sku, warehouse_id FOR UPDATE`,
      [saga.order_id],
    );
    const rows = held.rows;
    const released = rows.map(({ warehouse_id, sku, quantity }) => ({ warehouse_id, sku, quantity }));
    if (rows.length > 0) {
      // Inventory rows are locked in (sku, warehouse) order, as reservation locks them: no deadlock.
      await tx.query(
        `SELECT 1 FROM inventory WHERE (warehouse_id, sku) IN (SELECT * FROM unnest($1::text[], $2::text[]))
          ORDER BY sku, warehouse_id FOR UPDATE`,
        [rows.map((r) => r.warehouse_id), rows.map((r) => r.sku)],
      );
      await tx.query(
        `WITH given AS (
           SELECT warehouse_id, sku, sum(quantity)::int AS quantity
             FROM unnest($1::text[], $2::text[], $3::int[]) AS t(warehouse_id, sku, quantity)
            GROUP BY warehouse_id, sku
         ), back AS (
           UPDATE inventory i SET reserved = i.reserved - g.quantity, updated_at = now()
             FROM given g WHERE i.warehouse_id = g.warehouse_id AND i.sku = g.sku
         )
         UPDATE reservations SET status = 'released', updated_at = now() WHERE reservation_id = ANY($4::uuid[])`,
        [rows.map((r) => r.warehouse_id), rows.map((r) => r.sku), rows.map((r) => r.quantity), rows.map((r) => r.reservation_id)],
      );
    }
    const result = { status: 'succeeded', at: context.now().toISOString(), released };
    const events =
      rows.length > 0 ? [{ type: OrderEventType.inventoryReleased, payload: { saga_id: saga.saga_id, released } }] : [];
    return { result, status: SagaStatus.compensating, events };
  });
}
