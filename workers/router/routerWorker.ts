import { OrderEventType, parseOrderEvent, type OrderEventEnvelope } from '../../domain/events.js';
import { subscribes, Subscriber } from '../../domain/subscriptions.js';
import type { Config } from '../../platform/config.js';
import type { Pool } from '../../platform/db.js';
import {
  memberOf,
  StreamConsumer,
  streamSettings,
  handlerOf,
  type BatchFailure,
  type HandlersByType,
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
    // One order at a time for what changes a routed order; the confirmed orders of a read go together.
    const oneByOne: HandlersByType<OrderEventEnvelope> = {
      [OrderEventType.shipmentShortPicked]: (message) => onShipmentShortPicked(this.router, message),
      [OrderEventType.orderModified]: (message) => onOrderModified(this.router, message),
      [OrderEventType.orderModificationRejected]: (message) => onOrderModified(this.router, message),
    };
    this.consumer = new StreamConsumer<OrderEventEnvelope>({
      ...memberOf(options, Subscriber.router),
      handles: (type) => subscribes(Subscriber.router, type),
      parse: parseOrderEvent,
      batchHandler: (messages) => this.handleBatch(messages, oneByOne),
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    });
    this.sweep = new Sweep(
      'unrouted-orders',
      options.sweep,
      options.logger,
      unroutedOrdersSweep(options.pool, this.router, options.logger),
    );
  }

  /**
   * The `order.confirmed` of orders that have no other entry in the batch are routed together; every
   * other entry, in stream order, after them (an order's entries stay in turn).
   */
  private async handleBatch(
    messages: readonly StreamMessage<OrderEventEnvelope>[],
    oneByOne: HandlersByType<OrderEventEnvelope>,
  ): Promise<BatchFailure<OrderEventEnvelope>[]> {
    const entriesOf = new Map<string, number>();
    for (const m of messages) entriesOf.set(m.event.order_id, (entriesOf.get(m.event.order_id) ?? 0) + 1);
    const together = messages.filter(
      (m) => m.event.type === OrderEventType.orderConfirmed && entriesOf.get(m.event.order_id) === 1,
    );
    const routed = new Set(together);
    const failures = await onOrdersConfirmed(this.router, together);
    for (const message of messages) {
      if (routed.has(message)) continue;
      const handle =
        message.event.type === OrderEventType.orderConfirmed
          ? () => this.router.routeConfirmedOrder(message.event.order_id, message.event.event_id)
          : handlerOf(oneByOne, message);
      await handle?.(message).catch((error: unknown) => {
        failures.push({ message, error });
      });
    }
    return failures;
  }

  async start(): Promise<void> {
    await this.consumer.start();
    this.sweep.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.consumer.stop(), this.sweep.stop()]);
  }
}
