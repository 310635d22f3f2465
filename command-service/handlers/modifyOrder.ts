import { OrderEventType } from '../../domain/events.js';
import { planEdit, type CurrentLine } from '../../domain/orderEdit.js';
import { MAX_LINE_QUANTITY, OrderStatus, SagaStatus } from '../../domain/order.js';
import { SagaType } from '../../domain/sagaType.js';
import type { PoolClient } from '../../platform/db.js';
import { ifMatchAllows, type IfMatch } from '../../platform/entityTags.js';
import { appendToOrder } from '../../store/eventStore.js';
import { uuidv7 } from '../../platform/ids.js';
import { lockOrder } from '../../store/orderLock.js';
import { Problem, problems } from '../../platform/problem.js';
import { priceFromCatalog } from '../priceFromCatalog.js';
import type { CommandResult } from '../runCommand.js';
import { startChangeSaga } from '../startChangeSaga.js';
import type { ModifyOrderBody } from '../schemas/orders.js';

const MODIFIABLE: readonly string[] = [OrderStatus.confirmed, OrderStatus.processing, OrderStatus.partiallyShipped];

const notModifiable = (slug: string, title: string, detail: string) => new Problem(409, slug, title, detail);

/**
 * PATCH /api/v1/orders/{id}: change the shipping address, a line's quantity (0 removes it) or add a
 * line, for lines nothing of which has shipped. Checked here under the order's row lock against the
 * version the client read (412 when stale) and priced from the catalog; carried out by the modification
 * saga (workers/changes): hold the affected shipments at the WMS, reserve what grows, authorize what the
 * total grows by, then apply and re-route — or, if a step fails, undo what it did and leave the order
 * as it was.
 */
export async function modifyOrder(
  tx: PoolClient,
  orderId: string,
  ifMatch: IfMatch,
  body: ModifyOrderBody,
  leaseMs: number,
): Promise<CommandResult> {
  const order = await lockOrder<{ status: string; version: number; currency: string; cancel_requested_at: Date | null }>(
    tx,
    orderId,
    'status::text AS status, version, currency, cancel_requested_at',
  );
  if (order === undefined) throw problems.notFound('Order', orderId);
  // The order's version is its entity tag: the query service's ETag "<order_id>:<version>", or the bare "<version>".
  if (!ifMatchAllows(ifMatch, [String(order.version), `${orderId}:${order.version}`])) {
    throw new Problem(
      412,
      'version-mismatch',
      'Order changed since it was read',
      `Order ${orderId} is at version ${order.version}, which If-Match does not name.`,
      {
        extensions: { current_version: order.version },
      },
    );
  }
  if (!MODIFIABLE.includes(order.status) || order.cancel_requested_at !== null) {
    throw notModifiable(
      'order-not-modifiable',
      'Order cannot be changed',
      `Order ${orderId} is ${order.cancel_requested_at !== null ? 'being cancelled' : order.status}.`,
    );
  }
  const running = await tx.query(
    `SELECT 1 FROM sagas WHERE order_id = $1 AND saga_type = $2 AND status IN ('running', 'compensating')`,
    [orderId, SagaType.modification],
  );
  if (running.rows.length > 0) {
    throw notModifiable(
      'modification-in-progress',
      'Another change is in progress',
      `Order ${orderId} is being changed; retry when it is done.`,
    );
  }

  const lines = await tx.query<CurrentLine>(
    'SELECT item_id, sku, quantity, unit_price, quantity_shipped, quantity_cancelled FROM order_items WHERE order_id = $1 ORDER BY line_no',
    [orderId],
  );
  const items = [
    ...(body.items ?? []),
    ...(body.add_items ?? []),
    ...(body.remove_items ?? []).map((itemId) => ({ item_id: itemId, quantity: 0 })),
  ];
  const newSkus = items.flatMap((i) => ('sku' in i ? [{ sku: i.sku, quantity: i.quantity }] : []));
  const prices = new Map<string, number>();
  if (newSkus.length > 0) {
    const priced = await priceFromCatalog(tx, newSkus, order.currency);
    for (const l of priced.lines) prices.set(l.sku, l.unit_price);
  }
  const outcome = planEdit(lines.rows, items, prices, uuidv7);
  if (!outcome.ok) {
    const r = outcome.refusal;
    if (r.kind === 'unknown-item')
      throw new Problem(422, 'unknown-item', 'Unknown order line', `Order ${orderId} has no line ${r.item_id}.`);
    if (r.kind === 'line-shipped') {
      throw notModifiable(
        'line-already-shipped',
        'Line already shipped',
        `Line ${r.item_id} has shipped units; it can no longer change.`,
      );
    }
    if (r.kind === 'line-quantity-too-large') {
      throw new Problem(
        422,
        'line-quantity-too-large',
        'Line would hold too many units',
        `The line of ${r.sku} would hold ${r.quantity} units; at most ${MAX_LINE_QUANTITY} per line.`,
        { extensions: { max_quantity: MAX_LINE_QUANTITY } },
      );
    }
    throw notModifiable('nothing-to-change', 'Nothing to change', 'The request changes nothing.');
  }
  const plan = outcome.plan;
  const remaining =
    lines.rows.reduce((n, l) => n + l.quantity - l.quantity_cancelled, 0) +
    plan.changes.reduce((n, c) => n + c.to - c.from, 0) +
    plan.added.reduce((n, a) => n + a.quantity, 0);
  if (remaining === 0) {
    throw notModifiable(
      'order-would-be-empty',
      'Order would be empty',
      'Removing every line is a cancellation: POST .../cancel.',
    );
  }
  if (plan.changes.length === 0 && plan.added.length === 0 && body.shipping_address === undefined) {
    throw notModifiable('nothing-to-change', 'Nothing to change', 'The request changes nothing.');
  }

  const request = { ...plan, shipping_address: body.shipping_address ?? null };
  const sagaId = await startChangeSaga(tx, { orderId, type: SagaType.modification, leaseMs, request });
  const [event] = await appendToOrder(tx, orderId, [
    {
      type: OrderEventType.orderModificationRequested,
      payload: {
        saga_id: sagaId,
        changes: plan.changes,
        added: plan.added,
        address_changed: body.shipping_address !== undefined,
        previous_total: plan.previous_total,
        new_total: plan.new_total,
      },
    },
  ]);
  return {
    status: 202,
    headers: { Location: `/api/v1/orders/${orderId}` },
    body: {
      order_id: orderId,
      status: order.status,
      version: event?.seq ?? order.version,
      modification: { saga_id: sagaId, status: SagaStatus.running, ...request },
    },
  };
}
