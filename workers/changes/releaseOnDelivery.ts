import { OrderEventType } from '../../domain/events.js';
import { OrderStatus } from '../../domain/order.js';
import { withTransaction } from '../../platform/db.js';
import { appendToOrder } from '../../platform/eventStore.js';
import { claimMessage, lockOrder } from '../../platform/orderProgress.js';
import type { EventEnvelope } from '../../platform/streamConsumer.js';
import type { ChangeContext } from './changeContext.js';

export const CHANGES_CONSUMER = 'changes';

/**
 * When an order is delivered, nothing more will be captured: what its authorizations hold beyond their
 * captures (units cancelled after a short pick, the part a racing cancellation did cancel) is released
 * at the PSP (a partial reversal keyed by the event, so a redelivery cannot release twice), then in our
 * books with `payment.released`. A PSP that does not answer leaves the event pending: it is retried.
 */
export async function releaseUncapturedOnDelivery(context: ChangeContext, event: EventEnvelope): Promise<void> {
  if (event.payload.order_status !== OrderStatus.delivered) return;
  const seen = await context.pool.query('SELECT 1 FROM processed_messages WHERE consumer = $1 AND message_id = $2', [
    CHANGES_CONSUMER,
    event.event_id,
  ]);
  if (seen.rows.length > 0) return;
  const payments = await context.pool.query<{ payment_id: string; authorization_code: string; free: number }>(
    `SELECT p.payment_id, p.authorization_code,
            p.amount - (SELECT coalesce(sum(c.amount), 0) FROM captures c WHERE c.payment_id = p.payment_id AND c.status <> 'failed')::bigint AS free
       FROM payments p WHERE p.order_id = $1 AND p.status IN ('authorized', 'partially_captured')`,
    [event.order_id],
  );
  const released: Array<{ payment_id: string; amount: number }> = [];
  for (const p of payments.rows) {
    if (p.free <= 0) continue;
    const outcome = await context.psp.reverse(p.authorization_code, p.free, `${event.event_id}:release:${p.payment_id}`);
    if (outcome.kind === 'voided') released.push({ payment_id: p.payment_id, amount: p.free });
    else context.logger.warn({ order_id: event.order_id, payment_id: p.payment_id, outcome }, 'PSP kept the uncaptured rest');
  }
  await withTransaction(context.pool, async (tx) => {
    await lockOrder(tx, event.order_id);
    if (!(await claimMessage(tx, CHANGES_CONSUMER, event.event_id)) || released.length === 0) return;
    const rows = [];
    for (const r of released) {
      const updated = await tx.query<{ payment_id: string; amount: number }>(
        `UPDATE payments SET amount = amount - $2, updated_at = now(),
                status = CASE WHEN amount - $2 = 0 THEN 'voided' WHEN amount_captured >= amount - $2 THEN 'captured' ELSE status END
          WHERE payment_id = $1 RETURNING payment_id, amount`,
        [r.payment_id, r.amount],
      );
      rows.push({ ...r, amount_authorized: updated.rows[0]?.amount ?? 0 });
    }
    await appendToOrder(tx, event.order_id, [
      { type: OrderEventType.paymentReleased, payload: { reason: 'order_delivered', released: rows } },
    ]);
  });
}
