import { groupStreams, parseFields } from '../../platform/streams.js';
import { eventually, uniqueId } from './env.js';
import type { TestSystem } from './system.js';

/**
 * Places an order for `sku`, then adds to the saga group's stream a copy of its order.placed that
 * names no saga, as a buggy producer would write it: the saga group can never handle it and
 * dead-letters it. Answers the copy's event id.
 */
export async function addBrokenOrderPlaced(system: TestSystem, sku: string): Promise<string> {
  const placed = await system.placeOrder(uniqueId('cust'), [{ sku, quantity: 1 }]);
  const orderId = placed.body.order_id as string;
  const { stream, fields } = await eventually('order.placed on a stream', async () => {
    for (const s of groupStreams(system.layout, 'saga')) {
      for (const [, f] of await system.redis.xrange(s, '-', '+')) {
        const parsed = parseFields(f);
        if (parsed.type === 'order.placed' && parsed.order_id === orderId) return { stream: s, fields: f };
      }
    }
    return undefined;
  });
  const envelope = JSON.parse(parseFields(fields).envelope!) as { event_id: string; payload: Record<string, unknown> };
  const eventId = uniqueId('evt');
  const broken = { ...envelope, event_id: eventId, payload: { ...envelope.payload, saga_id: 'not-a-saga' } };
  const brokenFields = fields.map((value, i) =>
    fields[i - 1] === 'envelope' ? JSON.stringify(broken) : fields[i - 1] === 'event_id' ? eventId : value,
  );
  await system.redis.xadd(stream, '*', ...brokenFields);
  return eventId;
}
