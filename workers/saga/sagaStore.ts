import type { PlacementSteps, PlacementSagaState } from '../../domain/placementSaga.js';
import type { Address } from '../../domain/order.js';
import { withTransactionOpenedBy, type Pool, type PoolClient, type Queryable } from '../../platform/db.js';
import { isUuid } from '../../platform/ids.js';

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
  readonly items: ReadonlyArray<{ readonly item_id: string; readonly sku: string; readonly quantity: number }>;
  /** What the fraud check needs of the customer's history, read with the saga. */
  readonly customer: {
    /** A previously confirmed order paid with the same card (the fraud check's fast path). */
    readonly trustedCard: boolean;
    /** Orders placed in the last hour, this one included. */
    readonly ordersLastHour: number;
  };
}

const TRUSTED_STATUSES = ['confirmed', 'processing', 'partially_shipped', 'shipped', 'delivered'];

/**
 * The saga with what its steps need of the order, its lines and its customer, in one query (the card
 * token never leaves this process's memory).
 */
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
    items: SagaRecord['items'];
    trusted_card: boolean;
    orders_last_hour: number;
  }>(
    `SELECT s.saga_id, s.order_id, s.status, s.current_step, s.step_results,
            o.customer_id, o.total_amount, o.currency, o.payment_method, o.shipping_address, o.billing_address,
            (SELECT json_agg(json_build_object('item_id', i.item_id, 'sku', i.sku, 'quantity', i.quantity) ORDER BY i.line_no)
               FROM order_items i WHERE i.order_id = s.order_id) AS items,
            EXISTS (SELECT 1 FROM orders p
                     WHERE p.customer_id = o.customer_id AND p.order_id <> o.order_id
                       AND p.status = ANY($2::order_status[]) AND p.payment_method->>'token' = o.payment_method->>'token') AS trusted_card,
            (SELECT count(*)::int FROM orders p
              WHERE p.customer_id = o.customer_id AND p.created_at > now() - interval '1 hour') AS orders_last_hour
       FROM sagas s JOIN orders o ON o.order_id = s.order_id AND o.created_at = uuid7_time(s.order_id)
      WHERE s.saga_id = $1`,
    [sagaId, TRUSTED_STATUSES],
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
    items: row.items ?? [],
    customer: { trustedCard: row.trusted_card, ordersLastHour: Math.max(1, row.orders_last_hour) },
  };
}

/**
 * Runs fn in a transaction that starts by locking the saga row: BEGIN and the lock go to the server
 * as one message (a simple query; the id is a checked UUID, so it is inlined safely), which saves a
 * round trip on every saga step.
 */
export async function withLockedSaga<T>(
  pool: Pool,
  sagaId: string,
  fn: (tx: PoolClient, state: PlacementSagaState) => Promise<T>,
): Promise<T> {
  if (!isUuid(sagaId)) throw new Error(`not a saga id: ${sagaId}`);
  return withTransactionOpenedBy<T, { status: PlacementSagaState['status']; step_results: PlacementSteps }>(
    pool,
    `SELECT status, step_results FROM sagas WHERE saga_id = '${sagaId}' FOR UPDATE`,
    async (tx, [row]) => {
      if (row === undefined) throw new Error(`saga ${sagaId} does not exist`);
      return fn(tx, { status: row.status, steps: row.step_results });
    },
  );
}

export interface StepsRecord {
  /** Step id → its result, merged into step_results. */
  readonly results: Readonly<Record<string, unknown>>;
  readonly currentStep: string;
  readonly status: PlacementSagaState['status'];
  /** When the saga should be driven again if nothing else drives it: a retry's due time, a lease, or never. */
  readonly nextAttemptAt: Date | null;
}

/** Records step results in step_results, with the saga's status and schedule, in one statement. */
export async function recordSteps(tx: Queryable, sagaId: string, record: StepsRecord): Promise<void> {
  await tx.query(
    `UPDATE sagas
        SET step_results = step_results || $2::jsonb, current_step = $3, status = $4, next_attempt_at = $5, updated_at = now()
      WHERE saga_id = $1`,
    [sagaId, JSON.stringify(record.results), record.currentStep, record.status, record.nextAttemptAt],
  );
}
