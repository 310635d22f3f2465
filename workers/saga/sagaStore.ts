import type { PlacementSteps, PlacementSagaState } from '../../domain/placementSaga.js';
import type { Address } from '../../domain/order.js';
import type { Queryable } from '../../platform/db.js';

export interface SagaRecord {
  readonly saga_id: string;
  readonly order_id: string;
  readonly status: PlacementSagaState['status'];
  readonly current_step: string;
  readonly steps: PlacementSteps;
  readonly order: {
    readonly customer_id: string;
    readonly total_amount: number;
    readonly currency: string;
    readonly token: string;
    readonly shipping_address: Address;
    readonly billing_address: Address | null;
  };
}

/** The saga with what its steps need of the order (the card token never leaves this process's memory). */
export async function loadSaga(db: Queryable, sagaId: string): Promise<SagaRecord | undefined> {
  const result = await db.query<{
    saga_id: string;
    order_id: string;
    status: SagaRecord['status'];
    current_step: string;
    step_results: PlacementSteps;
    customer_id: string;
    total_amount: number;
    currency: string;
    payment_method: { token: string };
    shipping_address: Address;
    billing_address: Address | null;
  }>(
    `SELECT s.saga_id, s.order_id, s.status, s.current_step, s.step_results,
            o.customer_id, o.total_amount, o.currency, o.payment_method, o.shipping_address, o.billing_address
       FROM sagas s JOIN orders o ON o.order_id = s.order_id AND o.created_at = uuid7_time(s.order_id)
      WHERE s.saga_id = $1`,
    [sagaId],
  );
  const row = result.rows[0];
  if (row === undefined) return undefined;
  return {
    saga_id: row.saga_id,
    order_id: row.order_id,
    status: row.status,
    current_step: row.current_step,
    steps: row.step_results,
    order: {
      customer_id: row.customer_id,
      total_amount: row.total_amount,
      currency: row.currency,
      token: row.payment_method.token,
      shipping_address: row.shipping_address,
      billing_address: row.billing_address,
    },
  };
}

/** Locks the saga row for the rest of the transaction and returns its current state. */
export async function lockSaga(tx: Queryable, sagaId: string): Promise<PlacementSagaState> {
  const result = await tx.query<{ status: PlacementSagaState['status']; step_results: PlacementSteps }>(
    'SELECT status, step_results FROM sagas WHERE saga_id = $1 FOR UPDATE',
    [sagaId],
  );
  const row = result.rows[0];
  if (row === undefined) throw new Error(`saga ${sagaId} does not exist`);
  return { status: row.status, steps: row.step_results };
}

export interface StepRecord {
  readonly step: string;
  readonly result: unknown;
  readonly status?: PlacementSagaState['status'];
  /** When the saga should be driven again if nothing else drives it: a retry's due time, a lease, or never. */
  readonly nextAttemptAt: Date | null;
}

/** Records a step's result in step_results (with the saga's status and schedule). */
export async function recordStep(tx: Queryable, sagaId: string, record: StepRecord): Promise<void> {
  await tx.query(
    `UPDATE sagas
        SET step_results = step_results || jsonb_build_object($2::text, $3::jsonb),
            current_step = $2, status = coalesce($4, status), next_attempt_at = $5, updated_at = now()
      WHERE saga_id = $1`,
    [sagaId, record.step, JSON.stringify(record.result), record.status ?? null, record.nextAttemptAt],
  );
}
