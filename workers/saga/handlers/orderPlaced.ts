import type { StreamMessage } from '../../../platform/streamConsumer.js';
import type { PlacementSagaRunner } from '../placementSagaRunner.js';

/** `order.placed` starts (or, redelivered, resumes) the order's placement saga. */
export async function onOrderPlaced(runner: PlacementSagaRunner, message: StreamMessage): Promise<void> {
  const sagaId = message.event.payload.saga_id;
  if (typeof sagaId !== 'string') throw new Error(`order.placed ${message.event.event_id} carries no saga_id`);
  await runner.drive(sagaId);
}
