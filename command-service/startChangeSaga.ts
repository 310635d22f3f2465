import { SagaStatus } from '../domain/order.js';
import type { SagaTypeName } from '../domain/sagaType.js';
import type { Queryable } from '../platform/db.js';
import { uuidv7 } from '../platform/ids.js';

/**
 * Starts a saga of a change after placement (cancellation, modification, refund) in the command's
 * transaction: running, with the request recorded when there is one, due for the changes worker's poll
 * after the lease (its request event normally wakes the worker first). Returns the saga id.
 */
export async function startChangeSaga(
  tx: Queryable,
  saga: { orderId: string; type: SagaTypeName; leaseMs: number; request?: unknown },
): Promise<string> {
  const sagaId = uuidv7();
  await tx.query(
    `INSERT INTO sagas (saga_id, order_id, saga_type, current_step, status, step_results, next_attempt_at)
     VALUES ($1, $2, $3, 'requested', $4, $5::jsonb, now() + make_interval(secs => $6::double precision / 1000))`,
    [
      sagaId,
      saga.orderId,
      saga.type,
      SagaStatus.running,
      JSON.stringify(saga.request === undefined ? {} : { request: saga.request }),
      saga.leaseMs,
    ],
  );
  return sagaId;
}
