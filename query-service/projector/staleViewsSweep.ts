import type { Pool } from '../../platform/db.js';
import type { Logger } from '../../platform/logger.js';
import { examineOrders, nextCursor, withStatementTimeout, type SweepPass, type SweepWindow } from '../../platform/sweep.js';
import type { OrderViewEvent } from '../projections/orderView/evolve.js';
import { EVENT_ENVELOPE_COLUMNS } from '../projections/orderView/queries.js';
import { projectBatch } from './projectBatch.js';

/** An order whose view is missing or behind its event log, last changed longer ago than the grace period. */
const BEHIND = `e.updated_at < now() - make_interval(secs => $3::double precision / 1000)
  AND NOT EXISTS (SELECT 1 FROM order_view v WHERE v.order_id = e.order_id AND v.version >= e.version)`;

/**
 * The projector's sweep: an order view behind its event log (order_view.version < orders.version)
 * past the grace period lost an entry on the way and has no later one to notice the gap. Its latest
 * event is projected as if it had just arrived: projectBatch fills the gap from the event log, by seq,
 * so the view catches up once however often the sweep and late entries meet.
 */
export function staleViewsSweep(pool: Pool, logger: Logger) {
  return async (window: SweepWindow): Promise<SweepPass> => {
    const found = await withStatementTimeout(pool, window.statementTimeoutMs, async (tx) => {
      const examined = await examineOrders(tx, window, BEHIND);
      const latest =
        examined.candidates.length === 0
          ? []
          : (
              await tx.query<OrderViewEvent>(
                `SELECT ${EVENT_ENVELOPE_COLUMNS} FROM order_events
                  WHERE (order_id, seq) IN (SELECT o.order_id, o.version
                                              FROM unnest($1::uuid[]) AS c(id)
                                              JOIN orders o ON o.order_id = c.id AND o.created_at = uuid7_time(c.id))`,
                [examined.candidates],
              )
            ).rows;
      return { ...examined, latest };
    });
    let repaired = 0;
    if (found.latest.length > 0) {
      const outcome = await projectBatch(pool, found.latest);
      repaired = outcome.applied;
      for (const event of found.latest) {
        const error = outcome.failed.get(event.order_id);
        if (error !== undefined)
          logger.warn({ sweep: 'stale-views', order_id: event.order_id, err: error }, 'sweep: view not caught up');
        else
          logger.warn(
            { sweep: 'stale-views', order_id: event.order_id, version: event.seq },
            'sweep: an order view was behind its event log (an entry was lost); caught it up',
          );
      }
    }
    return { upTo: nextCursor(window, found), repaired };
  };
}
