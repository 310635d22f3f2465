import type { StreamMessage } from '../../../platform/streamConsumer.js';
import type { Router } from '../router.js';

/** `order.confirmed`: route the order to its warehouse(s). */
export async function onOrderConfirmed(router: Router, message: StreamMessage): Promise<void> {
  await router.routeConfirmedOrder(message.event.order_id, message.event.event_id);
}
