import { OrderEventType, type OrderEventEnvelope } from '../../../domain/events.js';
import type { BatchFailure, StreamMessage } from '../../../platform/streamConsumer.js';
import type { PlacementSagaRunner } from '../placementSagaRunner.js';

/**
 * `order.placed` starts (or, redelivered, resumes) the order's placement saga: every entry of a read
 * at once, as one batch of sagas. An entry fails (and stays pending, to be retried) only if its own
 * saga could not be driven.
 */
export async function onOrdersPlaced(
  runner: PlacementSagaRunner,
  messages: readonly StreamMessage<OrderEventEnvelope>[],
): Promise<BatchFailure<OrderEventEnvelope>[]> {
  const failures: BatchFailure<OrderEventEnvelope>[] = [];
  const bySaga = new Map<string, StreamMessage<OrderEventEnvelope>[]>();
  for (const message of messages) {
    // The entry was checked at the edge (parseOrderEvent): an order.placed carries its saga_id.
    const { event } = message;
    if (event.type !== OrderEventType.orderPlaced) {
      failures.push({ message, error: new Error(`${event.type} ${event.event_id} is not an order.placed`) });
      continue;
    }
    const sagaId = event.payload.saga_id;
    bySaga.set(sagaId, [...(bySaga.get(sagaId) ?? []), message]);
  }
  if (bySaga.size === 0) return failures;
  const results = await runner.driveBatch([...bySaga.keys()]);
  for (const [sagaId, sagaMessages] of bySaga) {
    const result = results.get(sagaId);
    if (result !== undefined && 'error' in result)
      failures.push(...sagaMessages.map((message) => ({ message, error: result.error })));
  }
  return failures;
}
