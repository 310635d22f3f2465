import { OrderEventType, orderOfMessage, type OrderEventEnvelope } from '../../domain/events.js';
import { orderEventsFor, Subscriber, type SubscribedType } from '../../domain/subscriptions.js';
import type { Config } from '../../platform/config.js';
import type { Pool } from '../../platform/db.js';
import { dispatchByType, oneByOne, type HandlerTable } from '../../platform/messageHandler.js';
import {
  memberOf,
  StreamConsumer,
  streamSettings,
  type StreamMessage,
  type StreamWorkerOptions,
} from '../../platform/streamConsumer.js';
import { Sweep, sweepSettings, type SweepSettings } from '../../platform/sweep.js';
import { onOrdersConfirmed } from './handlers/orderConfirmed.js';
import { onOrderModified } from './handlers/orderModified.js';
import { onShipmentShortPicked } from './handlers/shipmentShortPicked.js';
import { InventorySnapshot } from './inventorySnapshot.js';
import { Router } from './router.js';
import { unroutedOrdersSweep } from './unroutedOrdersSweep.js';

export interface RouterWorkerOptions extends StreamWorkerOptions {
  readonly pool: Pool;
  readonly snapshotMs: number;
  /** Entries read at once; the `order.confirmed` among them are routed together. */
  readonly batchSize?: number;
  readonly sweep: SweepSettings;
}

export function routerWorkerSettings(config: Config) {
  return {
    ...streamSettings(config),
    snapshotMs: config.routerSnapshotMs,
    sweep: sweepSettings(config),
  } satisfies Partial<RouterWorkerOptions>;
}

/**
 * The router worker: the `router` consumer group on the order event streams, and the sweep that routes
 * confirmed orders whose `order.confirmed` was lost.
 */
export class RouterWorker {
  readonly router: Router;
  readonly snapshot: InventorySnapshot;
  readonly consumer: StreamConsumer<OrderEventEnvelope>;
  readonly sweep: Sweep;

  constructor(options: RouterWorkerOptions) {
    this.snapshot = new InventorySnapshot(options.pool, options.snapshotMs);
    this.router = new Router({ pool: options.pool, snapshot: this.snapshot, logger: options.logger });
    const handlers: HandlerTable<StreamMessage<OrderEventEnvelope>, SubscribedType<typeof Subscriber.router>> = {
      // The confirmed orders of a read are routed together; what changes a routed order, one order at a time.
      [OrderEventType.orderConfirmed]: (messages) => onOrdersConfirmed(this.router, messages),
      [OrderEventType.shipmentShortPicked]: oneByOne((message) => onShipmentShortPicked(this.router, message)),
      [OrderEventType.orderModified]: oneByOne((message) => onOrderModified(this.router, message)),
      [OrderEventType.orderModificationRejected]: oneByOne((message) => onOrderModified(this.router, message)),
    };
    this.consumer = new StreamConsumer<OrderEventEnvelope>({
      ...memberOf(options, Subscriber.router),
      ...orderEventsFor(Subscriber.router),
      handle: dispatchByType(handlers, orderOfMessage),
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    });
    this.sweep = new Sweep(
      'unrouted-orders',
      options.sweep,
      options.logger,
      unroutedOrdersSweep(options.pool, this.router, options.logger),
    );
  }

  async start(): Promise<void> {
    await this.consumer.start();
    this.sweep.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.consumer.stop(), this.sweep.stop()]);
  }
}
