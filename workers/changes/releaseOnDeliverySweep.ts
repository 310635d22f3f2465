import { OrderEventType } from '../../domain/events.js';
import { OrderStatus } from '../../domain/order.js';
import type { OrderEventEnvelopeOf } from '../../domain/events.js';
import { examineOrders, nextCursor, withStatementTimeout, type SweepPass, type SweepWindow } from '../../platform/sweep.js';
import type { ChangeContext } from './changeContext.js';
import { releaseUncapturedOnDelivery } from './releaseOnDelivery.js';

/**
 * A delivered order (past the grace period) one of whose authorizations still holds money no capture
 * took or is taking: the same measure releaseUncapturedOnDelivery releases by.
 */
const HOLDING = `e.status = 'delivered'
  AND e.updated_at < now() - make_interval(secs => $3::double precision / 1000)
  AND EXISTS (SELECT 1 FROM payments p
               WHERE p.order_id = e.order_id AND p.status IN ('authorized', 'partially_captured')
                 AND p.amount > (SELECT coalesce(sum(c.amount), 0) FROM captures c
                                  WHERE c.payment_id = p.payment_id AND c.status <> 'failed'))`;

/**
 * The changes worker's sweep: a delivered order whose authorization still holds uncaptured money lost
 * the `shipment.delivered` that would have released it. The release runs as that message would have
 * run it — for the event that made the order delivered, with its PSP key and its inbox row — so the
 * sweep and a late (or re-driven) message release once.
 */
export function releaseOnDeliverySweep(context: ChangeContext) {
  return async (window: SweepWindow): Promise<SweepPass> => {
    const found = await withStatementTimeout(context.pool, window.statementTimeoutMs, async (tx) => {
      const examined = await examineOrders(tx, window, HOLDING);
      const deliveries =
        examined.candidates.length === 0
          ? []
          : (
              await tx.query<OrderEventEnvelopeOf<'shipment.delivered'>>(
                `SELECT DISTINCT ON (order_id) event_id, order_id, seq, type, payload,
                        to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at
                   FROM order_events
                  WHERE order_id = ANY($1::uuid[]) AND type = $2 AND payload->>'order_status' = $3
                  ORDER BY order_id, seq DESC`,
                [examined.candidates, OrderEventType.shipmentDelivered, OrderStatus.delivered],
              )
            ).rows;
      return { ...examined, deliveries };
    });
    let repaired = 0;
    for (const event of found.deliveries) {
      try {
        const released = await releaseUncapturedOnDelivery(context, event);
        if (released > 0) repaired++;
        context.logger.warn(
          { sweep: 'release-on-delivery', order_id: event.order_id, event_id: event.event_id, released },
          'sweep: a delivered order still held uncaptured money (its shipment.delivered was lost); released what the PSP let go',
        );
      } catch (error) {
        context.logger.warn(
          { sweep: 'release-on-delivery', order_id: event.order_id, err: error },
          'sweep: release failed; next pass',
        );
      }
    }
    return { upTo: nextCursor(window, found), repaired };
  };
}
