import type { CustomerId, ItemId, OrderId, SagaId, Sku } from './ids.js';

/** Order lifecycle (contract §5). */
export const OrderStatus = Object.freeze({
  placed: 'placed',
  confirmed: 'confirmed',
  processing: 'processing',
  partiallyShipped: 'partially_shipped',
  shipped: 'shipped',
  delivered: 'delivered',
  rejected: 'rejected',
  cancelled: 'cancelled',
} as const);
export type OrderStatusName = (typeof OrderStatus)[keyof typeof OrderStatus];
export const ORDER_STATUSES: readonly OrderStatusName[] = Object.freeze(Object.values(OrderStatus));

/** The most units one order line may hold (contract §2 schema), after lines naming one SKU are merged. */
export const MAX_LINE_QUANTITY = 100_000;

export const Channel = Object.freeze({ web: 'web', mobile: 'mobile', pos: 'pos', marketplace: 'marketplace' } as const);
export type ChannelName = (typeof Channel)[keyof typeof Channel];
export const CHANNELS: readonly ChannelName[] = Object.freeze(Object.values(Channel));

export const SagaStatus = Object.freeze({
  running: 'running',
  compensating: 'compensating',
  completed: 'completed',
  failed: 'failed',
} as const);
export type SagaStatusName = (typeof SagaStatus)[keyof typeof SagaStatus];

export interface Address {
  readonly name: string;
  readonly line1: string;
  readonly line2?: string;
  readonly city: string;
  readonly postal_code: string;
  readonly country: string;
  readonly lat?: number;
  readonly lon?: number;
}

export interface PaymentMethod {
  readonly type: 'card';
  readonly token: string;
}

export interface OrderLine {
  readonly item_id: ItemId;
  readonly sku: Sku;
  readonly quantity: number;
  readonly unit_price: number;
  readonly line_total: number;
}

/** Payload of `order.placed`. The card token is deliberately absent: events are kept for years. */
export interface OrderPlaced {
  readonly order_id: OrderId;
  readonly saga_id: SagaId;
  readonly customer_id: CustomerId;
  readonly channel: ChannelName;
  readonly external_order_id: string | null;
  readonly cart_id: string | null;
  readonly currency: string;
  readonly total_amount: number;
  readonly items: readonly OrderLine[];
  readonly shipping_address: Address;
  readonly billing_address: Address | null;
  readonly payment_method: { readonly type: PaymentMethod['type'] };
  readonly placed_at: string;
}
