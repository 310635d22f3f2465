import type { StreamMessage } from '../../../platform/streamConsumer.js';
import { compileValidator } from '../../../platform/validation.js';
import type { Router } from '../router.js';

interface ShortPicked {
  readonly shipment_id: string;
  readonly warehouse_id: string;
  readonly short: ReadonlyArray<{ item_id: string; quantity: number }>;
}

const validShortPick = compileValidator<ShortPicked>({
  type: 'object',
  required: ['shipment_id', 'warehouse_id', 'short'],
  properties: {
    shipment_id: { type: 'string' },
    warehouse_id: { type: 'string' },
    short: {
      type: 'array',
      items: {
        type: 'object',
        required: ['item_id', 'quantity'],
        properties: { item_id: { type: 'string', format: 'uuid' }, quantity: { type: 'integer', minimum: 1 } },
      },
    },
  },
});

/** `shipment.short_picked`: the units the warehouse did not have go to another one, or are cancelled. */
export async function onShipmentShortPicked(router: Router, message: StreamMessage): Promise<void> {
  const payload = validShortPick(message.event.payload);
  await router.rerouteShortPick(message.event.order_id, message.event.event_id, payload);
}
