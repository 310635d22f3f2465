import { SagaType } from '../../domain/sagaType.js';
import {
  SagaScheduler as OneSagaScheduler,
  type SagaSchedulerOptions as OneSagaSchedulerOptions,
} from '../../platform/sagaScheduler.js';
import type { Pool } from '../../platform/db.js';
import { sagaQueue } from '../../store/sagaQueue.js';
import type { PlacementSagaRunner } from './placementSagaRunner.js';

export interface SagaSchedulerOptions extends Omit<OneSagaSchedulerOptions, 'drivers' | 'queue'> {
  readonly pool: Pool;
  readonly runner: PlacementSagaRunner;
}

/** Due and stuck placement sagas, on the one saga scheduler every saga type shares (platform/sagaScheduler). */
export class SagaScheduler extends OneSagaScheduler {
  constructor({ pool, runner, ...options }: SagaSchedulerOptions) {
    super({
      ...options,
      service: 'saga',
      queue: sagaQueue(pool),
      drivers: { [SagaType.placement]: (sagaIds) => runner.driveBatch(sagaIds) },
    });
  }
}
