import type { Queryable } from '../platform/db.js';
import type { DueSaga, SagaQueue, StuckSaga } from '../platform/sagaScheduler.js';

export type { StuckSaga };

/** Sagas still running or compensating whose last progress is older than stuckAfterMs; of these types only, when given. */
export async function listStuckSagas(
  db: Queryable,
  stuckAfterMs: number,
  limit: number,
  types?: readonly string[],
): Promise<StuckSaga[]> {
  const result = await db.query<StuckSaga>(
    `SELECT saga_id, order_id, saga_type, status, current_step, updated_at,
            (extract(epoch FROM now() - updated_at) * 1000)::bigint AS stuck_for_ms
       FROM sagas
      WHERE status IN ('running', 'compensating') AND updated_at < now() - make_interval(secs => $1::double precision / 1000)
        AND ($3::text[] IS NULL OR saga_type = ANY($3::text[]))
      ORDER BY updated_at LIMIT $2`,
    [stuckAfterMs, limit, types ?? null],
  );
  return result.rows;
}

/**
 * Leases up to `limit` due sagas of these types (running or compensating, next_attempt_at passed) for
 * leaseMs: FOR UPDATE SKIP LOCKED, so several workers share the work without driving one saga twice.
 */
export async function leaseDueSagas(db: Queryable, types: readonly string[], leaseMs: number, limit: number): Promise<DueSaga[]> {
  // One type (the placement poll) is an equality, so the (saga_type, next_attempt_at) index gives the
  // due sagas in order without a sort; several types are a list.
  const single = types.length === 1;
  const result = await db.query<DueSaga>(
    `UPDATE sagas SET next_attempt_at = now() + make_interval(secs => $1::double precision / 1000)
      WHERE saga_id IN (
        SELECT saga_id FROM sagas
         WHERE saga_type = ${single ? '$3::text' : 'ANY($3::text[])'} AND status IN ('running', 'compensating')
           AND next_attempt_at <= now()
         ORDER BY next_attempt_at LIMIT $2
         FOR UPDATE SKIP LOCKED)
      RETURNING saga_id, saga_type`,
    [leaseMs, limit, single ? types[0] : types],
  );
  return result.rows;
}

/** Makes the sagas due now (re-driven from their recorded step on the next poll). */
export async function makeSagasDueNow(db: Queryable, sagaIds: readonly string[]): Promise<void> {
  await db.query('UPDATE sagas SET next_attempt_at = now() WHERE saga_id = ANY($1::uuid[])', [sagaIds]);
}

/** The saga rows as the scheduler (platform/sagaScheduler) reads and leases them. */
export function sagaQueue(db: Queryable): SagaQueue {
  return {
    leaseDue: (types, leaseMs, limit) => leaseDueSagas(db, types, leaseMs, limit),
    listStuck: (stuckAfterMs, limit, types) => listStuckSagas(db, stuckAfterMs, limit, types),
    makeDueNow: (sagaIds) => makeSagasDueNow(db, sagaIds),
  };
}
