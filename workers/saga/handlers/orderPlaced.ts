import type { BatchFailure, StreamMessage } from '../../../platform/streamConsumer.js';
import type { PlacementSagaRunner } from '../placementSagaRunner.js';

/**
 * `order.placed` starts (or, redelivered, resumes) the order's placement saga: every entry of a read
 * at once, as one batch of sagas. An entry fails (and stays pending, to be retried) only if its own
 * saga could not be driven.
 */
export async function onOrdersPlaced(runner: PlacementSagaRunner, messages: readonly StreamMessage[]): Promise<BatchFailure[]> {
  const failures: BatchFailure[] = [];
  const bySaga = new Map<string, StreamMessage[]>();
  for (const message of messages) {
    const sagaId = message.event.payload.saga_id;
    if (typeof sagaId !== 'string') {
      failures.push({ message, error: new Error(`order.placed ${message.event.event_id} carries no saga_id`) });
      continue;
    }
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
