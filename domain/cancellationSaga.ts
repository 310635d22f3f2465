import { AT_WAREHOUSE, LEFT_WAREHOUSE } from './fulfillment.js';
import { OrderStatus } from './order.js';
import { isFinished, waitFor, type Done, type SagaState, type Wait } from './sagaWorkflow.js';

/**
 * The cancellation saga as a pure workflow (contract §4, issue 6): wait for the placement saga to
 * finish (a rejected or cancelled order has nothing left to cancel) → ask the WMS to cancel every open
 * shipment and wait until each is cancelled or has left the warehouse (the WMS's own row lock decides a
 * cancel racing a ship) → release the stock still held and cancel every unit that has not shipped →
 * if nothing shipped, void the authorization and end `cancelled`; if a shipment won the race, end
 * refused, naming what shipped (its capture follows as for any shipment).
 *
 * Nothing is compensated: each step moves the order towards cancelled and none is undone — a shipment
 * that won the race ends the saga refused for what shipped, with the rest still cancelled.
 */
export const CancellationStepId = Object.freeze({
  awaitPlacement: 'await_placement',
  cancelShipments: 'cancel_shipments',
  releaseStock: 'release_stock',
  voidAuthorization: 'void_authorization',
  finish: 'finish',
} as const);
export type CancellationStepIdName = (typeof CancellationStepId)[keyof typeof CancellationStepId];

/** How long to wait before looking again at a placement still running, and at shipments still at the WMS. */
export const WAIT_FOR_PLACEMENT_MS = 200;
export const WAIT_FOR_WMS_MS = 250;

interface Succeeded {
  readonly status: 'succeeded';
}

export interface CancellationSteps {
  /** Recorded with the saga by the cancel command. */
  readonly request?: { readonly reason?: string | null };
  readonly await_placement?: Succeeded & { readonly order_status: string; readonly outcome: 'cancel' | 'nothing_to_cancel' };
  readonly cancel_shipments?: Succeeded & { readonly requested: readonly string[] };
  readonly release_stock?: Succeeded & { readonly released: readonly unknown[]; readonly cancelled: readonly unknown[] };
  readonly void_authorization?: Succeeded & { readonly authorization_ids: readonly string[] };
  readonly finish?: Succeeded & { readonly outcome: 'cancelled' | 'partially_cancelled'; readonly shipped?: readonly string[] };
}

export type CancellationState = SagaState<CancellationSteps>;

/** What the order looks like now, read before each step. */
export interface OrderNow {
  /** The order's status, or 'missing'. */
  readonly orderStatus: string;
  /** Whether the order's placement saga is still running or compensating. */
  readonly placementRunning: boolean;
  readonly shipments: ReadonlyArray<{ readonly shipment_id: string; readonly warehouse_id: string; readonly status: string }>;
}

export type CancellationAction =
  /** Record how placement ended; with nothing to cancel, the saga ends there. */
  | { readonly kind: 'await_placement'; readonly orderStatus: string; readonly outcome: 'cancel' | 'nothing_to_cancel' }
  /** Ask the WMS to cancel these shipments (none: record that nothing was at the warehouse). */
  | {
      readonly kind: 'cancel_shipments';
      readonly shipments: ReadonlyArray<{ readonly shipment_id: string; readonly warehouse_id: string }>;
    }
  /** Release the stock still held and cancel every unit not shipped; `shipped`: the shipments that left first. */
  | { readonly kind: 'release_stock'; readonly shipped: readonly string[] }
  | { readonly kind: 'void_authorization' }
  /** End: `cancelled` when nothing shipped, else refused for what shipped. */
  | { readonly kind: 'finish'; readonly shipped: readonly string[] }
  | Wait
  | Done;

export function nextCancellationAction(state: CancellationState, order: OrderNow, now: Date): CancellationAction {
  if (isFinished(state.status)) return { kind: 'done' };
  const steps = state.steps;

  if (steps.await_placement === undefined) {
    if (order.placementRunning) return waitFor(now, WAIT_FOR_PLACEMENT_MS);
    const nothingToCancel = order.orderStatus === OrderStatus.rejected || order.orderStatus === OrderStatus.cancelled;
    return { kind: 'await_placement', orderStatus: order.orderStatus, outcome: nothingToCancel ? 'nothing_to_cancel' : 'cancel' };
  }
  // Recorded before the saga was completed by it; nothing follows.
  if (steps.await_placement.outcome === 'nothing_to_cancel') return { kind: 'done' };

  const open = order.shipments.filter((s) => AT_WAREHOUSE.includes(s.status));
  if (steps.cancel_shipments === undefined)
    return {
      kind: 'cancel_shipments',
      shipments: open.map((s) => ({ shipment_id: s.shipment_id, warehouse_id: s.warehouse_id })),
    };
  if (open.length > 0) return waitFor(now, WAIT_FOR_WMS_MS);

  const shipped = order.shipments.filter((s) => LEFT_WAREHOUSE.includes(s.status)).map((s) => s.shipment_id);
  if (steps.release_stock === undefined) return { kind: 'release_stock', shipped };
  if (shipped.length === 0 && steps.void_authorization === undefined) return { kind: 'void_authorization' };
  return steps.finish === undefined ? { kind: 'finish', shipped } : { kind: 'done' };
}
