import type { OrderEventEnvelopeOf } from '../../../domain/events.js';
import type { HandlingFailure } from '../../../platform/messageHandler.js';
import type { StreamMessage } from '../../../platform/streamConsumer.js';
import type { Router } from '../router.js';

type OrderConfirmed = StreamMessage<OrderEventEnvelopeOf<'order.confirmed'>>;

/**
 * `order.confirmed`, every entry of a read at once: the orders are routed together (one transaction).
 * If that fails as a whole, each is routed alone, and only those that fail alone stay pending.
 */
export async function onOrdersConfirmed(
  router: Router,
  messages: readonly OrderConfirmed[],
): Promise<HandlingFailure<OrderConfirmed>[]> {
  if (messages.length === 0) return [];
  try {
    await router.routeConfirmedOrders(messages.map((m) => ({ orderId: m.event.order_id, messageId: m.event.event_id })));
    return [];
  } catch {
    const failures: HandlingFailure<OrderConfirmed>[] = [];
    for (const message of messages) {
      await router.routeConfirmedOrder(message.event.order_id, message.event.event_id).catch((error: unknown) => {
        failures.push({ message, error });
      });
    }
    return failures;
  }
}
