import type { Config } from '../../platform/config.js';
import type { Pool } from '../../platform/db.js';
import { memberOf, StreamConsumer, streamSettings, type StreamWorkerOptions } from '../../platform/streamConsumer.js';
import { ConsumerGroup } from '../../platform/streams.js';
import { projectEvent } from '../projections/orderView/project.js';

export interface ProjectorOptions extends StreamWorkerOptions {
  readonly pool: Pool;
}

export function projectorSettings(config: Config): Pick<ProjectorOptions, 'layout' | 'claimIdleMs' | 'maxDeliveries'> {
  return {
    ...streamSettings(config),
  };
}

/**
 * The projector: the `projector` consumer group on the order event streams, keeping the read tables
 * (query-service/projections) up to date. Idempotent by per-order seq, so redeliveries, duplicates and
 * re-published streams are harmless, and gaps are filled from the event log.
 */
export class Projector {
  readonly consumer: StreamConsumer;

  constructor(options: ProjectorOptions) {
    this.consumer = new StreamConsumer({
      ...memberOf(options, ConsumerGroup.projector),
      handler: async ({ event }) => {
        const outcome = await projectEvent(options.pool, event);
        if (outcome === 'gap-filled')
          options.logger.info({ order_id: event.order_id, seq: event.seq }, 'gap in the stream filled from the event log');
      },
    });
  }

  start(): Promise<void> {
    return this.consumer.start();
  }

  stop(): Promise<void> {
    return this.consumer.stop();
  }
}
