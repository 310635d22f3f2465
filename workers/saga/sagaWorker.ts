import { OrderEventType, orderOfMessage, type OrderEventEnvelope } from '../../domain/events.js';
import { orderEventsFor, Subscriber, type SubscribedType } from '../../domain/subscriptions.js';
import type { Config } from '../../platform/config.js';
import type { Pool } from '../../platform/db.js';
import type { PspClient } from '../../platform/psp.js';
import { dispatchByType, type HandlerTable } from '../../platform/messageHandler.js';
import {
  memberOf,
  StreamConsumer,
  streamSettings,
  type StreamMessage,
  type StreamWorkerOptions,
} from '../../platform/streamConsumer.js';
import { Sweep, sweepSettings, type SweepSettings } from '../../platform/sweep.js';
import { onOrdersPlaced } from './handlers/orderPlaced.js';
import { orphanAuthorizationsSweep } from './orphanAuthorizationsSweep.js';
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
  /** Most `order.placed` entries taken in one read, driven as one batch. */
  readonly batchSize?: number;
  readonly sweep: SweepSettings;
}

/** The worker's settings as the configuration gives them. */
export function sagaWorkerSettings(config: Config) {
  return {
    ...streamSettings(config),
    retryDeadlineMs: config.pspRetryDeadlineMs,
    leaseMs: config.sagaLeaseMs,
    pollMs: config.sagaPollMs,
    stuckAfterMs: config.sagaStuckAfterMs,
    sweep: sweepSettings(config),
  } satisfies Partial<SagaWorkerOptions>;
}

/**
 * The saga worker: the `saga` consumer group on the order event streams, the due-saga scheduler, and
 * the sweep that voids authorizations the PSP holds for no saga of ours.
 */
export class SagaWorker {
  readonly runner: PlacementSagaRunner;
  readonly consumer: StreamConsumer<OrderEventEnvelope>;
  readonly scheduler: SagaScheduler;
  readonly sweep: Sweep;

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
    const handlers: HandlerTable<StreamMessage<OrderEventEnvelope>, SubscribedType<typeof Subscriber.saga>> = {
      // Every `order.placed` of a read is one batch of sagas (a single order is a batch of one).
      [OrderEventType.orderPlaced]: (messages) => onOrdersPlaced(this.runner, messages),
    };
    this.consumer = new StreamConsumer<OrderEventEnvelope>({
      ...memberOf(options, Subscriber.saga),
      ...orderEventsFor(Subscriber.saga),
      handle: dispatchByType(handlers, orderOfMessage),
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    });
    this.scheduler = new SagaScheduler({
      pool: options.pool,
      runner: this.runner,
      logger: options.logger,
      pollMs: options.pollMs,
      leaseMs: options.leaseMs,
      stuckAfterMs: options.stuckAfterMs,
    });
    this.sweep = new Sweep(
      'orphan-authorizations',
      options.sweep,
      options.logger,
      orphanAuthorizationsSweep(options.pool, options.psp, options.logger),
    );
  }

  async start(): Promise<void> {
    await this.consumer.start();
    this.scheduler.start();
    this.sweep.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.consumer.stop(), this.scheduler.stop(), this.sweep.stop()]);
  }
}
