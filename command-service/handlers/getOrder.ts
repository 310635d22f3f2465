import type { Queryable } from '../../platform/db.js';

/**
 * GET /api/v1/orders/{order_id}, read from the write tables. Temporary: the query service's read
 * tables take this over (issue 5). `created_at = uuid7_time(order_id)` lets PostgreSQL prune to the
 * one monthly partition that can hold the order.
 */
export async function getOrder(db: Queryable, orderId: string): Promise<Record<string, unknown> | undefined> {
  const result = await db.query<{ order: Record<string, unknown> | null }>(
    `SELECT json_build_object(
        'order_id', o.order_id, 'status', o.status, 'version', o.version, 'customer_id', o.customer_id,
        'channel', o.channel, 'external_order_id', o.external_order_id, 'currency', o.currency,
        'total_amount', o.total_amount, 'shipping_address', o.shipping_address,
        'items', (SELECT coalesce(json_agg(json_build_object(
            'item_id', i.item_id, 'sku', i.sku, 'quantity', i.quantity, 'unit_price', i.unit_price,
            'status', i.status, 'quantity_shipped', i.quantity_shipped,
            'quantity_cancelled', i.quantity_cancelled, 'quantity_refunded', i.quantity_refunded)
            ORDER BY i.line_no), '[]') FROM order_items i WHERE i.order_id = o.order_id),
        'shipments', (SELECT coalesce(json_agg(json_build_object(
            'shipment_id', s.shipment_id, 'warehouse_id', s.warehouse_id, 'carrier', s.carrier,
            'tracking_number', s.tracking_number, 'status', s.status,
            'items', (SELECT coalesce(json_agg(json_build_object('item_id', si.item_id, 'sku', si.sku, 'quantity', si.quantity)), '[]')
                        FROM shipment_items si WHERE si.shipment_id = s.shipment_id),
            'shipped_at', s.shipped_at, 'delivered_at', s.delivered_at) ORDER BY s.created_at), '[]')
            FROM shipments s WHERE s.order_id = o.order_id),
        'payments', (SELECT coalesce(json_agg(json_build_object(
            'payment_id', p.payment_id, 'amount_authorized', p.amount, 'amount_captured', p.amount_captured,
            'amount_refunded', p.amount_refunded, 'status', p.status) ORDER BY p.created_at), '[]')
            FROM payments p WHERE p.order_id = o.order_id),
        'saga', (SELECT json_build_object('saga_id', g.saga_id, 'status', g.status, 'current_step', g.current_step,
                                          'steps', g.step_results)
                   FROM sagas g WHERE g.order_id = o.order_id AND g.saga_type = 'placement'
                   ORDER BY g.created_at LIMIT 1),
        'created_at', o.created_at, 'updated_at', o.updated_at) AS order
       FROM orders o
      WHERE o.order_id = $1 AND o.created_at = uuid7_time($1)`,
    [orderId],
  );
  return result.rows[0]?.order ?? undefined;
}
