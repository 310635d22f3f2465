import { OrderEventType } from '../../../domain/events.js';
import { nextRetry, PlacementStepId, type Retrying, type VoidResult } from '../../../domain/placementSaga.js';
import { withTransaction } from '../../../platform/db.js';
import { appendToOrder } from '../../../platform/eventStore.js';
import { PspUnavailable } from '../../../platform/psp.js';
import { lockSaga, recordStep, type SagaRecord } from '../sagaStore.js';
import { leaseFrom, type StepContext } from '../stepContext.js';

/**
 * Compensation of the authorization: void it at the PSP. When the authorization's outcome is unknown
 * (the PSP never answered), the PSP is asked which authorizations it holds for this saga, and each is
 * voided; none means nothing to void. A PSP that does not answer is retried without a deadline:
 * a compensation must finish.
 */
export async function voidAuthorization(context: StepContext, saga: SagaRecord): Promise<void> {
  const auth = saga.steps.authorize_payment;
  let outcome: VoidResult | undefined;
  let unavailable: PspUnavailable | undefined;
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
    outcome = {
      status: 'succeeded',
      at: context.now().toISOString(),
      outcome: ids.length === 0 ? 'nothing-to-void' : refused ? 'refused' : 'voided',
      authorization_ids: ids,
    };
    if (refused) context.logger.error({ saga_id: saga.saga_id, order_id: saga.order_id }, 'PSP refused to void an authorization');
  } catch (error) {
    if (!(error instanceof PspUnavailable)) throw error;
    unavailable = error;
  }

  await withTransaction(context.pool, async (tx) => {
    const state = await lockSaga(tx, saga.saga_id);
    const previous = state.steps.void_authorization;
    if (previous !== undefined && previous.status !== 'retrying') return;
    if (outcome === undefined) {
      const retry = nextRetry(
        previous as Retrying | undefined,
        unavailable?.message ?? 'no answer',
        context.now(),
        unavailable?.retryAfterMs,
      );
      await recordStep(tx, saga.saga_id, {
        step: PlacementStepId.voidAuthorization,
        result: retry,
        status: 'compensating',
        nextAttemptAt: new Date(retry.next_attempt_at),
      });
      return;
    }
    await recordStep(tx, saga.saga_id, {
      step: PlacementStepId.voidAuthorization,
      result: outcome,
      status: 'compensating',
      nextAttemptAt: leaseFrom(context),
    });
    if (outcome.status === 'succeeded' && outcome.outcome === 'voided') {
      await tx.query(`UPDATE payments SET status = 'voided', updated_at = now() WHERE order_id = $1 AND status = 'authorized'`, [
        saga.order_id,
      ]);
      await appendToOrder(tx, saga.order_id, [
        { type: OrderEventType.paymentVoided, payload: { saga_id: saga.saga_id, authorization_ids: outcome.authorization_ids } },
      ]);
    }
  });
}

/** Compensation of the reservation: give every held unit back to its warehouse, under the same locks. */
export async function releaseInventory(context: StepContext, saga: SagaRecord): Promise<void> {
  await withTransaction(context.pool, async (tx) => {
    const state = await lockSaga(tx, saga.saga_id);
    if (state.steps.release_inventory !== undefined) return;
    const held = await tx.query<{ reservation_id: string; warehouse_id: string; sku: string; quantity: number }>(
      `SELECT reservation_id, warehouse_id, sku, quantity FROM reservations
        WHERE order_id = $1 AND status = 'held' ORDER BY sku, warehouse_id FOR UPDATE`,
      [saga.order_id],
    );
    const rows = held.rows;
    await tx.query(
      `SELECT 1 FROM inventory WHERE (warehouse_id, sku) IN (SELECT * FROM unnest($1::text[], $2::text[]))
        ORDER BY sku, warehouse_id FOR UPDATE`,
      [rows.map((r) => r.warehouse_id), rows.map((r) => r.sku)],
    );
    await tx.query(
      `UPDATE inventory i SET reserved = i.reserved - a.quantity, updated_at = now()
         FROM (SELECT warehouse_id, sku, sum(quantity)::int AS quantity
                 FROM unnest($1::text[], $2::text[], $3::int[]) AS t(warehouse_id, sku, quantity)
                GROUP BY warehouse_id, sku) a
        WHERE i.warehouse_id = a.warehouse_id AND i.sku = a.sku`,
      [rows.map((r) => r.warehouse_id), rows.map((r) => r.sku), rows.map((r) => r.quantity)],
    );
    await tx.query(`UPDATE reservations SET status = 'released', updated_at = now() WHERE reservation_id = ANY($1::uuid[])`, [
      rows.map((r) => r.reservation_id),
    ]);
    const released = rows.map(({ warehouse_id, sku, quantity }) => ({ warehouse_id, sku, quantity }));
    await recordStep(tx, saga.saga_id, {
      step: PlacementStepId.releaseInventory,
      result: { status: 'succeeded', at: context.now().toISOString(), released },
      status: 'compensating',
      nextAttemptAt: leaseFrom(context),
    });
    if (rows.length > 0) {
      await appendToOrder(tx, saga.order_id, [
        { type: OrderEventType.inventoryReleased, payload: { saga_id: saga.saga_id, released } },
      ]);
    }
  });
}
