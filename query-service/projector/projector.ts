import type { Config } from '../../platform/config.js';
import type { Pool } from '../../platform/db.js';
import { memberOf, StreamConsumer, streamSettings, type StreamWorkerOptions } from '../../platform/streamConsumer.js';
import type { OrderEventEnvelope } from '../../domain/events.js';
import { orderEventsFor, Subscriber } from '../../domain/subscriptions.js';
import { Sweep, sweepSettings, type SweepSettings } from '../../platform/sweep.js';
import { projectBatch } from './projectBatch.js';
import { staleViewsSweep } from './staleViewsSweep.js';

export interface ProjectorOptions extends StreamWorkerOptions {
  readonly pool: Pool;
  readonly sweep: SweepSettings;
}

export function projectorSettings(
  config: Config,
): Pick<ProjectorOptions, 'layout' | 'claimIdleMs' | 'maxDeliveries' | 'backoff' | 'sweep'> {
  return {
    ...streamSettings(config),
    sweep: sweepSettings(config),
  };
}

/**
 * The projector: the `projector` consumer group on the order event streams, keeping the read tables
 * (query-service/projections) up to date, a read's worth of entries at a time (projectBatch).
 * Idempotent by per-order seq, so redeliveries, duplicates and re-published streams are harmless, and
 * gaps are filled from the event log. A sweep catches up views a lost entry left behind.
 */
export class Projector {
  readonly consumer: StreamConsumer<OrderEventEnvelope>;
  readonly sweep: Sweep;

  constructor(options: ProjectorOptions) {
    this.consumer = new StreamConsumer<OrderEventEnvelope>({
      ...memberOf(options, Subscriber.projector),
      ...orderEventsFor(Subscriber.projector),
      // What one read returns is projected as one batch: one read and one write of the views.
      handle: async (messages) => {
        const outcome = await projectBatch(
          options.pool,
          messages.map((m) => m.event),
        );
        for (const orderId of outcome.gapFilled)
          options.logger.info({ order_id: orderId }, 'gap in the stream filled from the event log');
        return messages.flatMap((message) =>
          outcome.failed.has(message.event.order_id) ? [{ message, error: outcome.failed.get(message.event.order_id) }] : [],
        );
      },
    });
    this.sweep = new Sweep('stale-views', options.sweep, options.logger, staleViewsSweep(options.pool, options.logger));
  }

  async start(): Promise<void> {
    await this.consumer.start();
    this.sweep.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.consumer.stop(), this.sweep.stop()]);
  }
}
