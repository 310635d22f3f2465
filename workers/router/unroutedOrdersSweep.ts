import { OrderEventType } from '../../domain/events.js';
import type { Pool } from '../../platform/db.js';
import type { Logger } from '../../platform/logger.js';
import { examineOrders, nextCursor, withStatementTimeout, type SweepPass, type SweepWindow } from '../../platform/sweep.js';
import type { Router } from './router.js';

/** An order confirmed for longer than the grace period, not being cancelled, with no shipment at all. */
const UNROUTED = `e.status = 'confirmed' AND e.cancel_requested_at IS NULL
  AND e.updated_at < now() - make_interval(secs => $3::double precision / 1000)
  AND NOT EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = e.order_id)`;

/**
 * The router's sweep: a confirmed order without shipments, past the grace period, lost its
 * `order.confirmed` on the way (acknowledged unhandled, dead-lettered, trimmed). It is routed as that
 * message would have routed it — by the message's own id, so the router's inbox and its check of the
 * order's status under the row lock make the sweep and a late (or re-driven) message route it once.
 */
export function unroutedOrdersSweep(pool: Pool, router: Router, logger: Logger) {
  return async (window: SweepWindow): Promise<SweepPass> => {
    const found = await withStatementTimeout(pool, window.statementTimeoutMs, async (tx) => {
      const examined = await examineOrders(tx, window, UNROUTED);
      const confirmed =
        examined.candidates.length === 0
          ? []
          : (
              await tx.query<{ order_id: string; event_id: string }>(
                'SELECT order_id, event_id FROM order_events WHERE order_id = ANY($1::uuid[]) AND type = $2',
                [examined.candidates, OrderEventType.orderConfirmed],
              )
            ).rows;
      return { ...examined, confirmed };
    });
    let repaired = 0;
    if (found.confirmed.length > 0) {
      const outcomes = await router.routeConfirmedOrders(
        found.confirmed.map((c) => ({ orderId: c.order_id, messageId: c.event_id })),
      );
      for (const c of found.confirmed) {
        const outcome = outcomes.get(c.event_id);
        if (outcome?.kind === 'routed') repaired++;
        logger.warn(
          { sweep: 'unrouted-orders', order_id: c.order_id, event_id: c.event_id, outcome: outcome?.kind },
          'sweep: a confirmed order had no shipments (its order.confirmed was lost); routed it',
        );
      }
    }
    return { upTo: nextCursor(window, found), repaired };
  };
}
