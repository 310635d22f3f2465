import { OrderEventType } from '../../domain/events.js';
import { LEFT_WAREHOUSE } from '../../domain/fulfillment.js';
import { OrderStatus, SagaStatus } from '../../domain/order.js';
import { SagaType } from '../../domain/sagaType.js';
import type { PoolClient } from '../../platform/db.js';
import { appendToOrder } from '../../store/eventStore.js';
import { lockOrder } from '../../store/orderLock.js';
import { Problem, problems } from '../../platform/problem.js';
import type { CommandResult } from '../runCommand.js';
import { startChangeSaga } from '../startChangeSaga.js';
import type { CancelOrderBody } from '../schemas/orders.js';

const notCancellable = (orderId: string, why: string) =>
  new Problem(409, 'order-not-cancellable', 'Order cannot be cancelled', `Order ${orderId} ${why}.`);

/**
 * POST /api/v1/orders/{id}/cancel: while no shipment has left a warehouse, records the request (under
 * the order's row lock, so the router routes nothing more and a racing command sees it) and starts the
 * cancellation saga (workers/changes): cancel open shipments at the WMS, release stock, void the
 * authorization. 202 with the saga; a repeated request while it runs → 202 with the same saga; a
 * cancelled order → 200 with its state; a rejected or shipped one → 409 `order-not-cancellable`.
 */
export async function cancelOrder(
  tx: PoolClient,
  orderId: string,
  body: CancelOrderBody,
  leaseMs: number,
): Promise<CommandResult> {
  const order = await lockOrder<{ status: string; version: number; cancel_requested_at: Date | null }>(
    tx,
    orderId,
    'status::text AS status, version, cancel_requested_at',
  );
  if (order === undefined) throw problems.notFound('Order', orderId);
  const existing = await tx.query<{ saga_id: string; status: string }>(
    `SELECT saga_id, status FROM sagas WHERE order_id = $1 AND saga_type = $2 ORDER BY created_at DESC LIMIT 1`,
    [orderId, SagaType.cancellation],
  );
  const answer = (status: number, version: number, cancellation: { saga_id: string; status: string } | undefined) => ({
    status,
    headers: { Location: `/api/v1/orders/${orderId}` },
    body: { order_id: orderId, status: order.status, version, cancellation: cancellation ?? null },
  });
  if (order.status === OrderStatus.cancelled) return answer(200, order.version, existing.rows[0]);
  if (order.status === OrderStatus.rejected) throw notCancellable(orderId, 'was rejected at placement; nothing to cancel');
  const left = await tx.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM shipments WHERE order_id = $1 AND status = ANY($2)',
    [orderId, LEFT_WAREHOUSE],
  );
  if ((left.rows[0]?.n ?? 0) > 0)
    throw notCancellable(orderId, 'has a shipment that left the warehouse; request a refund instead');
  if (order.cancel_requested_at !== null) return answer(202, order.version, existing.rows[0]);

  await tx.query('UPDATE orders SET cancel_requested_at = now() WHERE order_id = $1 AND created_at = uuid7_time($1)', [orderId]);
  const sagaId = await startChangeSaga(tx, {
    orderId,
    type: SagaType.cancellation,
    leaseMs,
    request: { reason: body.reason ?? null },
  });
  const [event] = await appendToOrder(tx, orderId, [
    { type: OrderEventType.orderCancellationRequested, payload: { saga_id: sagaId, reason: body.reason ?? null } },
  ]);
  return answer(202, event?.seq ?? order.version, { saga_id: sagaId, status: SagaStatus.running });
}
