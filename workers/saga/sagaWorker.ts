import { OrderEventType } from '../../domain/events.js';
import type { Config } from '../../platform/config.js';
import type { Pool } from '../../platform/db.js';
import type { PspClient } from '../../platform/psp.js';
import {
  dispatchingConsumer,
  streamSettings,
  type EventHandlers,
  type StreamConsumer,
  type StreamWorkerOptions,
} from '../../platform/streamConsumer.js';
import { ConsumerGroup } from '../../platform/streams.js';
import { onOrderPlaced } from './handlers/orderPlaced.js';
import { PlacementSagaRunner } from './placementSagaRunner.js';
import { SagaScheduler } from './sagaScheduler.js';

export interface SagaWorkerOptions extends StreamWorkerOptions {
  readonly pool: Pool;
  readonly psp: PspClient;
  readonly retryDeadlineMs: number;
  readonly leaseMs: number;
  readonly pollMs: number;
  readonly stuckAfterMs: number;
  readonly now?: () => Date;
}

/** The worker's settings as the configuration gives them. */
export function sagaWorkerSettings(config: Config) {
  return {
    ...streamSettings(config),
    retryDeadlineMs: config.pspRetryDeadlineMs,
    leaseMs: config.sagaLeaseMs,
    pollMs: config.sagaPollMs,
    stuckAfterMs: config.sagaStuckAfterMs,
  } satisfies Partial<SagaWorkerOptions>;
}

/** The saga worker: the `saga` consumer group on the order event streams, plus the due-saga scheduler. */
export class SagaWorker {
  readonly runner: PlacementSagaRunner;
  readonly consumer: StreamConsumer;
  readonly scheduler: SagaScheduler;

  constructor(options: SagaWorkerOptions) {
    this.runner = new PlacementSagaRunner(
      {
        pool: options.pool,
        psp: options.psp,
        logger: options.logger,
        now: options.now ?? (() => new Date()),
        leaseMs: options.leaseMs,
      },
      options.retryDeadlineMs,
    );
    const handlers: EventHandlers = {
      [OrderEventType.orderPlaced]: (message) => onOrderPlaced(this.runner, message),
    };
    this.consumer = dispatchingConsumer(options, ConsumerGroup.saga, handlers);
    this.scheduler = new SagaScheduler({
      pool: options.pool,
      runner: this.runner,
      logger: options.logger,
      pollMs: options.pollMs,
      leaseMs: options.leaseMs,
      stuckAfterMs: options.stuckAfterMs,
    });
  }

  async start(): Promise<void> {
    await this.consumer.start();
    this.scheduler.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.consumer.stop(), this.scheduler.stop()]);
  }
}
