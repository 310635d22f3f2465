import type { OrderEventEnvelopeOf } from '../../../domain/events.js';
import type { HandlingFailure } from '../../../platform/messageHandler.js';
import type { StreamMessage } from '../../../platform/streamConsumer.js';
import type { PlacementSagaRunner } from '../placementSagaRunner.js';

type OrderPlaced = StreamMessage<OrderEventEnvelopeOf<'order.placed'>>;

/**
 * `order.placed` starts (or, redelivered, resumes) the order's placement saga: every entry of a read
 * at once, as one batch of sagas. An entry fails (and stays pending, to be retried) only if its own
 * saga could not be driven.
 */
export async function onOrdersPlaced(
  runner: PlacementSagaRunner,
  messages: readonly OrderPlaced[],
): Promise<HandlingFailure<OrderPlaced>[]> {
  const bySaga = Map.groupBy(messages, (message) => message.event.payload.saga_id);
  if (bySaga.size === 0) return [];
  const results = await runner.driveBatch([...bySaga.keys()]);
  const failures: HandlingFailure<OrderPlaced>[] = [];
  for (const [sagaId, sagaMessages] of bySaga) {
    const result = results.get(sagaId);
    if (result !== undefined && 'error' in result)
      failures.push(...sagaMessages.map((message) => ({ message, error: result.error })));
  }
  return failures;
}
