import type { OrderEventEnvelopeOf } from '../../../domain/events.js';
import type { StreamMessage } from '../../../platform/streamConsumer.js';
import type { Router } from '../router.js';

/** `shipment.short_picked`: the units the warehouse did not have go to another one, or are cancelled. */
export async function onShipmentShortPicked(
  router: Router,
  { event }: StreamMessage<OrderEventEnvelopeOf<'shipment.short_picked'>>,
): Promise<void> {
  await router.rerouteShortPick(event.order_id, event.event_id, event.payload);
}
