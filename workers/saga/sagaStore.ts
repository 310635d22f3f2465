import type { PlacementSteps, PlacementSagaState } from '../../domain/placementSaga.js';
import { FraudThresholds } from '../../domain/fraudRules.js';
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

/** Orders that vouch for their card. Written into the query as literals: the partial index orders_trusted_card_idx (migration 0011) has this predicate. */
const TRUSTED_STATUSES = ['confirmed', 'processing', 'partially_shipped', 'shipped', 'delivered'] as const;

/**
 * The sagas with what their steps need of the order, its lines and its customer, in one query for the
 * whole batch (the card token never leaves this process's memory). Sagas that do not exist are absent.
 */
export async function loadSagas(db: Queryable, sagaIds: readonly string[]): Promise<Map<string, SagaRecord>> {
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
                       AND p.status IN (${TRUSTED_STATUSES.map((status) => `'${status}'`).join(', ')})
                       AND p.payment_method->>'token' = o.payment_method->>'token') AS trusted_card,
            -- Counted up to one past the highest velocity threshold: the rules tell no difference beyond.
            (SELECT count(*)::int FROM (SELECT 1 FROM orders p
              WHERE p.customer_id = o.customer_id AND p.created_at > now() - interval '1 hour' LIMIT $2) AS recent) AS orders_last_hour
       FROM sagas s JOIN orders o ON o.order_id = s.order_id AND o.created_at = uuid7_time(s.order_id)
      WHERE s.saga_id = ANY($1::uuid[])`,
    [sagaIds, FraudThresholds.franticCustomerPerHour + 1],
  );
  return new Map(
    result.rows.map((row) => [
      row.saga_id,
      {
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
      },
    ]),
  );
}

/**
 * Runs fn in a transaction that starts by locking the sagas' rows, in saga id order (two batches
 * sharing sagas never deadlock): BEGIN and the lock go to the server as one message (a simple query;
 * the ids are checked UUIDs, so they are inlined safely), which saves a round trip. fn gets each
 * locked saga's recorded state; a saga that does not exist is absent.
 */
export async function withLockedSagas<T>(
  pool: Pool,
  sagaIds: readonly string[],
  fn: (tx: PoolClient, states: ReadonlyMap<string, PlacementSagaState>) => Promise<T>,
): Promise<T> {
  for (const sagaId of sagaIds) if (!isUuid(sagaId)) throw new Error(`not a saga id: ${sagaId}`);
  const list = [...new Set(sagaIds)].map((id) => `'${id}'`).join(', ');
  return withTransactionOpenedBy<T, { saga_id: string; status: PlacementSagaState['status']; step_results: PlacementSteps }>(
    pool,
    `SELECT saga_id, status, step_results FROM sagas WHERE saga_id IN (${list}) ORDER BY saga_id FOR UPDATE`,
    async (tx, rows) => fn(tx, new Map(rows.map((row) => [row.saga_id, { status: row.status, steps: row.step_results }]))),
  );
}

export interface StepsRecord {
  readonly sagaId: string;
  /** Step id → its result, merged into step_results. */
  readonly results: Readonly<Record<string, unknown>>;
  readonly currentStep: string;
  readonly status: PlacementSagaState['status'];
  /** When the saga should be driven again if nothing else drives it: a retry's due time, a lease, or never. */
  readonly nextAttemptAt: Date | null;
}

/** Records the step results of several sagas in step_results, with each saga's status and schedule, in one statement. */
export async function recordSteps(tx: Queryable, records: readonly StepsRecord[]): Promise<void> {
  if (records.length === 0) return;
  await tx.query(
    `UPDATE sagas s
        SET step_results = s.step_results || r.results, current_step = r.current_step, status = r.status,
            next_attempt_at = r.next_attempt_at, updated_at = now()
       FROM unnest($1::uuid[], $2::jsonb[], $3::text[], $4::text[], $5::timestamptz[])
            AS r(saga_id, results, current_step, status, next_attempt_at)
      WHERE s.saga_id = r.saga_id`,
    [
      records.map((r) => r.sagaId),
      records.map((r) => JSON.stringify(r.results)),
      records.map((r) => r.currentStep),
      records.map((r) => r.status),
      records.map((r) => r.nextAttemptAt),
    ],
  );
}

/** Sets when each saga waiting for a retry is driven again, in one statement. */
export async function scheduleSagas(db: Queryable, due: ReadonlyArray<{ sagaId: string; at: string }>): Promise<void> {
  if (due.length === 0) return;
  await db.query(
    `UPDATE sagas s SET next_attempt_at = d.at FROM unnest($1::uuid[], $2::timestamptz[]) AS d(saga_id, at) WHERE s.saga_id = d.saga_id`,
    [due.map((d) => d.sagaId), due.map((d) => d.at)],
  );
}
