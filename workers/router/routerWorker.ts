import { OrderEventType } from '../../domain/events.js';
import type { Config } from '../../platform/config.js';
import type { Pool } from '../../platform/db.js';
import {
  dispatchingConsumer,
  streamSettings,
  type EventHandlers,
  type StreamConsumer,
  type StreamWorkerOptions,
} from '../../platform/streamConsumer.js';
import { ConsumerGroup } from '../../platform/streams.js';
import { onOrderConfirmed } from './handlers/orderConfirmed.js';
import { onOrderModified } from './handlers/orderModified.js';
import { onShipmentShortPicked } from './handlers/shipmentShortPicked.js';
import { InventorySnapshot } from './inventorySnapshot.js';
import { Router } from './router.js';

export interface RouterWorkerOptions extends StreamWorkerOptions {
  readonly pool: Pool;
  readonly snapshotMs: number;
  /** Orders routed at once (each holds a connection while it commits). */
  readonly maxInFlight?: number;
}

export function routerWorkerSettings(config: Config) {
  return {
    ...streamSettings(config),
    snapshotMs: config.routerSnapshotMs,
    maxInFlight: config.dbPoolSize,
  } satisfies Partial<RouterWorkerOptions>;
}

/** The router worker: the `router` consumer group on the order event streams. */
export class RouterWorker {
  readonly router: Router;
  readonly snapshot: InventorySnapshot;
  readonly consumer: StreamConsumer;

  constructor(options: RouterWorkerOptions) {
    this.snapshot = new InventorySnapshot(options.pool, options.snapshotMs);
    this.router = new Router({ pool: options.pool, snapshot: this.snapshot, logger: options.logger });
    const handlers: EventHandlers = {
      [OrderEventType.orderConfirmed]: (message) => onOrderConfirmed(this.router, message),
      [OrderEventType.shipmentShortPicked]: (message) => onShipmentShortPicked(this.router, message),
      [OrderEventType.orderModified]: (message) => onOrderModified(this.router, message),
      [OrderEventType.orderModificationRejected]: (message) => onOrderModified(this.router, message),
    };
    // Each routing holds a connection for its transaction: more at once than the pool has only queue
    // for connections (and time out), so the entries in flight follow the pool.
    this.consumer = dispatchingConsumer(options, ConsumerGroup.router, handlers, options.maxInFlight);
  }

  start(): Promise<void> {
    return this.consumer.start();
  }

  stop(): Promise<void> {
    return this.consumer.stop();
  }
}
