import type { Queryable } from './db.js';

export interface StuckSaga {
  readonly saga_id: string;
  readonly order_id: string;
  readonly saga_type: string;
  readonly status: string;
  readonly current_step: string;
  readonly updated_at: string;
  readonly stuck_for_ms: number;
}

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
