import { OrderEventType, orderOfMessage, type OrderEventEnvelope, type OrderEventEnvelopeOf } from '../../domain/events.js';
import { orderEventsFor, Subscriber, type SubscribedType } from '../../domain/subscriptions.js';
import { SagaType } from '../../domain/sagaType.js';
import { isFinished } from '../../domain/sagaWorkflow.js';
import type { Config } from '../../platform/config.js';
import { dispatchByType, oneByOne, type HandlerTable } from '../../platform/messageHandler.js';
import { SagaScheduler, type SagaDriveResult } from '../../platform/sagaScheduler.js';
import {
  memberOf,
  StreamConsumer,
  streamSettings,
  type StreamMessage,
  type StreamWorkerOptions,
} from '../../platform/streamConsumer.js';
import { Sweep, sweepSettings, type SweepSettings } from '../../platform/sweep.js';
import { forOrder } from '../../platform/traceScope.js';
import { sellerOf } from '../../store/documents.js';
import { sagaQueue } from '../../store/sagaQueue.js';
import { cancellationStep } from './cancellation.js';
import { loadChangeSaga } from './changeSaga.js';
import type { ChangeContext, StepOutcome } from './changeContext.js';
import { modificationStep } from './modification.js';
import { refundStep } from './refund.js';
import { onShipmentsDelivered } from './releaseOnDelivery.js';
import { releaseOnDeliverySweep } from './releaseOnDeliverySweep.js';

/** The saga types this worker drives, and the step function of each (its workflow's next action, done). */
const STEPS = Object.freeze({
  [SagaType.cancellation]: cancellationStep,
  [SagaType.modification]: modificationStep,
  [SagaType.refund]: refundStep,
});

/** The events that ask for a change: each starts (or, redelivered, resumes) its saga. */
type ChangeRequested =
  | OrderEventEnvelopeOf<'order.cancellation_requested'>
  | OrderEventEnvelopeOf<'order.modification_requested'>
  | OrderEventEnvelopeOf<'refund.requested'>;

/** Guards against a workflow bug looping forever: a change saga needs far fewer steps than this. */
const MAX_STEPS_PER_DRIVE = 20;

export interface ChangesWorkerOptions extends ChangeContext, StreamWorkerOptions {
  readonly pollMs: number;
  readonly stuckAfterMs: number;
  readonly sweep: SweepSettings;
}

export function changesWorkerSettings(config: Config) {
  return {
    ...streamSettings(config),
    pollMs: config.sagaPollMs,
    leaseMs: config.sagaLeaseMs,
    stuckAfterMs: config.sagaStuckAfterMs,
    pspRetryDeadlineMs: config.pspRetryDeadlineMs,
    seller: sellerOf(config),
    sweep: sweepSettings(config),
  } satisfies Partial<ChangesWorkerOptions>;
}

/**
 * The changes worker: drives the sagas of changes after placement — cancellations, edits and refunds —
 * from their request events (Redis Streams group `changes`) and, for sagas waiting on a partner or
 * whose worker died, from the one saga scheduler every saga type shares (platform/sagaScheduler: due
 * and stuck sagas, leased with FOR UPDATE SKIP LOCKED, so two workers never drive one saga at once from
 * the poll). A sweep releases what delivered orders still hold when their `shipment.delivered` was lost.
 */
export class ChangesWorker {
  readonly consumer: StreamConsumer<OrderEventEnvelope>;
  readonly sweep: Sweep;
  readonly scheduler: SagaScheduler;

  constructor(private readonly options: ChangesWorkerOptions) {
    // A change request drives its saga, each under its order's correlation (platform/traceScope).
    const driveRequested = <M extends StreamMessage<ChangeRequested>>() =>
      oneByOne<M>(({ event }) => forOrder(event.order_id, () => this.drive(event.payload.saga_id)));
    const handlers: HandlerTable<StreamMessage<OrderEventEnvelope>, SubscribedType<typeof Subscriber.changes>> = {
      [OrderEventType.orderCancellationRequested]: driveRequested(),
      [OrderEventType.orderModificationRequested]: driveRequested(),
      [OrderEventType.refundRequested]: driveRequested(),
      [OrderEventType.shipmentDelivered]: (messages) => onShipmentsDelivered(options, messages),
    };
    this.consumer = new StreamConsumer<OrderEventEnvelope>({
      ...memberOf(options, Subscriber.changes),
      ...orderEventsFor(Subscriber.changes),
      handle: dispatchByType(handlers, orderOfMessage),
    });
    const driveBatch = (sagaIds: readonly string[]) => this.driveBatch(sagaIds);
    this.scheduler = new SagaScheduler({
      queue: sagaQueue(options.pool),
      logger: options.logger,
      drivers: Object.fromEntries(Object.keys(STEPS).map((type) => [type, driveBatch])),
      pollMs: options.pollMs,
      leaseMs: options.leaseMs,
      stuckAfterMs: options.stuckAfterMs,
      // The actor of the events of the sagas it drives (the consumer group's name, as when a message drives them).
      service: Subscriber.changes,
    });
    this.sweep = new Sweep('release-on-delivery', options.sweep, options.logger, releaseOnDeliverySweep(options));
  }

  async start(): Promise<void> {
    await this.consumer.start();
    this.scheduler.start();
    this.sweep.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.consumer.stop(), this.scheduler.stop(), this.sweep.stop()]);
  }

  /** Runs the saga's steps until it waits for something or ends. */
  async drive(sagaId: string): Promise<StepOutcome | 'missing'> {
    for (let i = 0; i < MAX_STEPS_PER_DRIVE; i++) {
      const saga = await loadChangeSaga(this.options.pool, sagaId);
      if (saga === undefined) return 'missing';
      if (isFinished(saga.status)) return 'done';
      const step = STEPS[saga.saga_type as keyof typeof STEPS];
      if (step === undefined) return 'missing';
      const outcome = await step(this.options, saga);
      if (outcome !== 'progressed') return outcome;
    }
    return 'progressed';
  }

  /** Each saga of a batch, side by side; one saga's failure does not fail the others. */
  private async driveBatch(sagaIds: readonly string[]): Promise<Map<string, SagaDriveResult>> {
    const results = await Promise.all(
      sagaIds.map(async (sagaId): Promise<[string, SagaDriveResult]> => {
        try {
          return [sagaId, { outcome: await this.drive(sagaId) }];
        } catch (error) {
          return [sagaId, { error }];
        }
      }),
    );
    return new Map(results);
  }
}
