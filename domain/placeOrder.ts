import type { CustomerId, ItemId, OrderId, SagaId, Sku } from './ids.js';
import type { Address, ChannelName, OrderPlaced } from './order.js';
import type { PricedLine } from './pricing.js';

export interface PlaceOrder {
  readonly customer_id: string;
  readonly channel: ChannelName;
  readonly external_order_id: string | null;
  readonly cart_id: string | null;
  readonly shipping_address: Address;
  readonly billing_address: Address | null;
  readonly payment_method: { readonly type: 'card' };
}

export interface Placement {
  readonly orderId: OrderId;
  readonly sagaId: SagaId;
  /** One fresh id per priced line, in line order. */
  readonly itemIds: readonly ItemId[];
  readonly placedAt: Date;
  readonly currency: string;
  readonly lines: readonly PricedLine[];
  readonly total: number;
}

/**
 * Decides the `order.placed` event from a validated command and its server-side pricing. Ids and time
 * are passed in, so the decision is a pure function and testable as such.
 */
export function decidePlaceOrder(command: PlaceOrder, placement: Placement): OrderPlaced {
  if (placement.itemIds.length !== placement.lines.length) {
    throw new RangeError('one item id per line is required');
  }
  if (placement.lines.length === 0) throw new RangeError('an order needs at least one line');
  return {
    order_id: placement.orderId,
    saga_id: placement.sagaId,
    customer_id: command.customer_id as CustomerId,
    channel: command.channel,
    external_order_id: command.external_order_id,
    cart_id: command.cart_id,
    currency: placement.currency,
    total_amount: placement.total,
    items: placement.lines.map((line, index) => ({
      item_id: placement.itemIds[index] as ItemId,
      sku: line.sku as Sku,
      quantity: line.quantity,
      unit_price: line.unit_price,
      line_total: line.line_total,
    })),
    shipping_address: command.shipping_address,
    billing_address: command.billing_address,
    payment_method: { type: command.payment_method.type },
    placed_at: placement.placedAt.toISOString(),
  };
}
