import type { StreamMessage } from '../../../platform/streamConsumer.js';
import type { Router } from '../router.js';

/** An edit applied or undone: route again what its cancelled shipments (or new lines) left unassigned. */
export async function onOrderModified(router: Router, message: StreamMessage): Promise<void> {
  await router.routeUnassigned(message.event.order_id, message.event.event_id);
}
