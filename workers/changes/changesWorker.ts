import { OrderEventType } from '../../domain/events.js';
import type { Config } from '../../platform/config.js';
import { sellerOf } from '../../platform/documents.js';
import { PollLoop } from '../../platform/pollLoop.js';
import { memberOf, StreamConsumer, streamSettings, type StreamWorkerOptions } from '../../platform/streamConsumer.js';
import { ConsumerGroup } from '../../platform/streams.js';
import { Sweep, sweepSettings, type SweepSettings } from '../../platform/sweep.js';
import { cancellationStep } from './cancellation.js';
import { loadChangeSaga } from './changeSaga.js';
import type { ChangeContext } from './changeContext.js';
import { modificationStep } from './modification.js';
import { refundStep } from './refund.js';
import { releaseUncapturedOnDelivery } from './releaseOnDelivery.js';
import { releaseOnDeliverySweep } from './releaseOnDeliverySweep.js';

/** The saga types this worker drives, and the step function of each. */
const STEPS = Object.freeze({ cancellation: cancellationStep, refund: refundStep, modification: modificationStep });
const SAGA_TYPES = Object.keys(STEPS);

export interface ChangesWorkerOptions extends ChangeContext, StreamWorkerOptions {
  readonly pollMs: number;
  readonly sweep: SweepSettings;
}

export function changesWorkerSettings(config: Config) {
  return {
    ...streamSettings(config),
    pollMs: config.sagaPollMs,
    leaseMs: config.sagaLeaseMs,
    pspRetryDeadlineMs: config.pspRetryDeadlineMs,
    seller: sellerOf(config),
    sweep: sweepSettings(config),
  } satisfies Partial<ChangesWorkerOptions>;
}

/**
 * The changes worker: drives the sagas of changes after placement — cancellations, edits and refunds — from
 * their request events (Redis Streams group `changes`) and, for sagas waiting on a partner or whose
 * worker died, from a poll of due sagas (leased with FOR UPDATE SKIP LOCKED, so two workers never
 * drive one saga at once from the poll). A sweep releases what delivered orders still hold when their
 * `shipment.delivered` was lost.
 */
export class ChangesWorker {
  readonly consumer: StreamConsumer;
  readonly sweep: Sweep;
  private readonly loop: PollLoop;

  constructor(private readonly options: ChangesWorkerOptions) {
    const requests = new Set<string>([
      OrderEventType.orderCancellationRequested,
      OrderEventType.refundRequested,
      OrderEventType.orderModificationRequested,
    ]);
    const deliveries = new Set<string>([OrderEventType.shipmentDelivered]);
    this.consumer = new StreamConsumer({
      ...memberOf(options, ConsumerGroup.changes),
      handles: (type) => requests.has(type) || deliveries.has(type),
      handler: async (message) => {
        if (deliveries.has(message.event.type)) {
          await releaseUncapturedOnDelivery(this.options, message.event);
          return;
        }
        const sagaId = message.event.payload.saga_id;
        if (typeof sagaId === 'string') await this.drive(sagaId);
      },
    });
    this.loop = new PollLoop('due change sagas', options.pollMs, () => this.driveDue(), options.logger);
    this.sweep = new Sweep('release-on-delivery', options.sweep, options.logger, releaseOnDeliverySweep(options));
  }

  async start(): Promise<void> {
    await this.consumer.start();
    this.loop.start();
    this.sweep.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.consumer.stop(), this.loop.stop(), this.sweep.stop()]);
  }

  /** Runs the saga's steps until it waits for something or ends. */
  async drive(sagaId: string): Promise<void> {
    for (let i = 0; i < 20; i++) {
      const saga = await loadChangeSaga(this.options.pool, sagaId);
      if (saga === undefined || saga.status === 'completed' || saga.status === 'failed') return;
      const step = STEPS[saga.saga_type as keyof typeof STEPS];
      if (step === undefined) return;
      if ((await step(this.options, saga)) !== 'progressed') return;
    }
  }

  private async driveDue(): Promise<void> {
    const due = await this.options.pool.query<{ saga_id: string }>(
      `UPDATE sagas SET next_attempt_at = now() + make_interval(secs => $1::double precision / 1000)
        WHERE saga_id IN (
          SELECT saga_id FROM sagas
           WHERE saga_type = ANY($2) AND status IN ('running', 'compensating') AND next_attempt_at <= now()
           ORDER BY next_attempt_at LIMIT 20 FOR UPDATE SKIP LOCKED)
        RETURNING saga_id`,
      [this.options.leaseMs, SAGA_TYPES],
    );
    await Promise.all(
      due.rows.map((r) =>
        this.drive(r.saga_id).catch((error: unknown) =>
          this.options.logger.warn({ err: error, saga_id: r.saga_id }, 'driving a change saga failed; it is retried'),
        ),
      ),
    );
  }
}
