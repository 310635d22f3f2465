import { SagaType } from '../../domain/sagaType.js';
import {
  SagaScheduler as OneSagaScheduler,
  type SagaSchedulerOptions as OneSagaSchedulerOptions,
} from '../../platform/sagaScheduler.js';
import type { PlacementSagaRunner } from './placementSagaRunner.js';

export interface SagaSchedulerOptions extends Omit<OneSagaSchedulerOptions, 'drivers'> {
  readonly runner: PlacementSagaRunner;
}

/** Due and stuck placement sagas, on the one saga scheduler every saga type shares (platform/sagaScheduler). */
export class SagaScheduler extends OneSagaScheduler {
  constructor({ runner, ...options }: SagaSchedulerOptions) {
    super({ ...options, drivers: { [SagaType.placement]: (sagaIds) => runner.driveBatch(sagaIds) } });
  }
}
