import { OrderEventType } from '../../../domain/events.js';
import { SagaStatus } from '../../../domain/order.js';
import { PlacementStepId, type VoidResult } from '../../../domain/placementSaga.js';
import { forOrder } from '../../../platform/traceScope.js';
import { PspUnavailable } from '../../../platform/psp.js';
import { heldReservations, release } from '../../../store/stock.js';
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
  return forOrder(saga.order_id, () => voidFor(context, saga));
}

async function voidFor(context: StepContext, saga: SagaRecord): Promise<VoidAnswer> {
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
 * its warehouse (store/stock's release: inventory rows locked in (sku, warehouse) order, as reserve
 * takes them, in one statement: no deadlock).
 */
export function releaseInventory(context: StepContext): StepApplyMany {
  return async (tx, targets) => {
    const rows = await heldReservations(
      tx,
      targets.map(({ saga }) => saga.order_id),
    );
    if (rows.length > 0) await release(tx, [], { reservationIds: rows.map((r) => r.reservation_id) });
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
