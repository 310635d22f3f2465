import { OrderEventType } from '../../domain/events.js';
import { multiply } from '../../domain/money.js';
import { SagaType } from '../../domain/sagaType.js';
import type { PoolClient } from '../../platform/db.js';
import { appendToOrder } from '../../store/eventStore.js';
import { uuidv7 } from '../../platform/ids.js';
import { lockOrder } from '../../store/orderLock.js';
import { Problem, problems } from '../../platform/problem.js';
import type { CommandResult } from '../runCommand.js';
import { startChangeSaga } from '../startChangeSaga.js';
import type { RefundBody } from '../schemas/orders.js';

/**
 * POST /api/v1/orders/{id}/refunds: by lines (their unit price times the quantity; orders carry no tax
 * yet) or by amount (goodwill), with a reason. Under the order's and the payment's row locks it checks
 * the amount against what was captured minus what is refunded or being refunded (422
 * `refund-exceeds-captured`), and a line's quantity against what shipped minus what is refunded or
 * being refunded (422 `refund-exceeds-shipped`); then records the refund `pending` and starts its saga
 * (workers/changes), which refunds at the PSP capture by capture and issues the credit note.
 */
export async function requestRefund(tx: PoolClient, orderId: string, body: RefundBody, leaseMs: number): Promise<CommandResult> {
  if ((body.items === undefined) === (body.amount === undefined)) {
    throw problems.validation([{ pointer: '/items', detail: 'give exactly one of items and amount' }]);
  }
  const order = await lockOrder(tx, orderId);
  if (order === undefined) throw problems.notFound('Order', orderId);
  // Every payment of the order counts (an edit may have added a second authorization).
  const payments = await tx.query<{ payment_id: string; currency: string; amount_captured: number; amount_refunded: number }>(
    `SELECT payment_id, currency, amount_captured, amount_refunded FROM payments
      WHERE order_id = $1 AND amount_captured > 0 ORDER BY created_at FOR UPDATE`,
    [orderId],
  );
  const payment = payments.rows[0];
  const captured = payments.rows.reduce((sum, p) => sum + p.amount_captured - p.amount_refunded, 0);
  const pending = await tx.query<{ amount: number; items: Array<{ item_id: string; quantity: number }> }>(
    `SELECT amount, items FROM refunds WHERE order_id = $1 AND status = 'pending'`,
    [orderId],
  );
  const pendingAmount = pending.rows.reduce((sum, r) => sum + r.amount, 0);

  let amount: number;
  let items: Array<{ item_id: string; sku: string; quantity: number; unit_price: number; amount: number }> = [];
  if (body.items !== undefined) {
    const lines = await tx.query<{
      item_id: string;
      sku: string;
      unit_price: number;
      quantity_shipped: number;
      quantity_refunded: number;
    }>('SELECT item_id, sku, unit_price, quantity_shipped, quantity_refunded FROM order_items WHERE order_id = $1', [orderId]);
    const wanted = new Map<string, number>();
    for (const i of body.items) wanted.set(i.item_id, (wanted.get(i.item_id) ?? 0) + i.quantity);
    for (const [itemId, quantity] of wanted) {
      const line = lines.rows.find((l) => l.item_id === itemId);
      if (line === undefined) {
        throw new Problem(422, 'unknown-item', 'Unknown order line', `Order ${orderId} has no line ${itemId}.`, {
          errors: [{ pointer: '/items', detail: `no line ${itemId}` }],
        });
      }
      const inFlight = pending.rows
        .flatMap((r) => r.items)
        .filter((i) => i.item_id === itemId)
        .reduce((s, i) => s + i.quantity, 0);
      const refundable = line.quantity_shipped - line.quantity_refunded - inFlight;
      if (quantity > refundable) {
        throw new Problem(
          422,
          'refund-exceeds-shipped',
          'Refund exceeds what shipped',
          `Line ${itemId}: ${quantity} unit(s) asked, ${Math.max(0, refundable)} shipped and not yet refunded.`,
          { extensions: { refundable_quantity: Math.max(0, refundable) } },
        );
      }
      items.push({
        item_id: itemId,
        sku: line.sku,
        quantity,
        unit_price: line.unit_price,
        amount: multiply(line.unit_price, quantity),
      });
    }
    amount = items.reduce((sum, i) => sum + i.amount, 0);
  } else {
    amount = body.amount ?? 0;
    items = [];
  }

  const refundable = captured - pendingAmount;
  if (payment === undefined || amount > refundable) {
    throw new Problem(
      422,
      'refund-exceeds-captured',
      'Refund exceeds what was captured',
      `Asked ${amount}; ${Math.max(0, refundable)} of what was captured is left to refund.`,
      { extensions: { refundable_amount: Math.max(0, refundable) } },
    );
  }

  const refundId = uuidv7();
  const sagaId = await startChangeSaga(tx, { orderId, type: SagaType.refund, leaseMs });
  await tx.query(
    `INSERT INTO refunds (refund_id, order_id, saga_id, payment_id, amount, currency, reason, items, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending')`,
    [refundId, orderId, sagaId, payment.payment_id, amount, payment.currency, body.reason, JSON.stringify(items)],
  );
  const [event] = await appendToOrder(tx, orderId, [
    {
      type: OrderEventType.refundRequested,
      payload: { refund_id: refundId, saga_id: sagaId, amount, currency: payment.currency, reason: body.reason, items },
    },
  ]);
  return {
    status: 202,
    headers: { Location: `/api/v1/orders/${orderId}` },
    body: {
      refund_id: refundId,
      order_id: orderId,
      version: event?.seq,
      amount,
      currency: payment.currency,
      reason: body.reason,
      items,
      status: 'pending',
    },
  };
}
