import type { Kafka } from 'kafkajs';
import { withOrderStatus } from '../../domain/events.js';
import type { ShipmentStatusName } from '../../domain/fulfillment.js';
import type { Party } from '../../domain/invoice.js';
import type { Backoff } from '../../domain/retryPolicy.js';
import { consumerBackoff, type Config } from '../../platform/config.js';
import type { Pool, PoolClient } from '../../platform/db.js';
import { PgDeadLetters } from '../../platform/deadLetters.js';
import { runKafkaConsumer, type KafkaMessage, type RunningKafkaConsumer } from '../../platform/kafkaConsumer.js';
import type { Logger } from '../../platform/logger.js';
import type { HandlingFailure } from '../../platform/messageHandler.js';
import type { PspClient } from '../../platform/psp.js';
import { CaptureProcessor } from './captureProcessor.js';
import { onShipmentCancelled } from './handlers/shipmentCancelled.js';
import { onShipmentPacked } from './handlers/shipmentPacked.js';
import { onShipmentPicked } from './handlers/shipmentPicked.js';
import { insertCaptures, type NewCapture } from './captureStore.js';
import { onShipmentShipped, type RunningAuthorization } from './handlers/shipmentShipped.js';
import type { ShipmentChange } from './shipmentChange.js';
import { shipmentItems, shipmentItemsOf, writeShipmentChanges, type ShipmentRow } from './shipmentStore.js';
import { validWmsMessage, type WmsMessage } from '../../platform/wmsProtocol.js';
import { sellerOf } from '../../store/documents.js';
import { appendsOf, type NewEvent } from '../../store/eventStore.js';
import { handleOnce, type Handled } from '../../store/inbox.js';
import { ordersInProgress } from '../../store/orderProgress.js';
import { openAuthorizationsOf } from '../../store/payments.js';
import { consume, type StockLine } from '../../store/stock.js';

export const FULFILLMENT_CONSUMER = 'fulfillment';
/** WMS messages applied per transaction. */
const WMS_BATCH = 200;

export interface FulfillmentWorkerOptions {
  readonly pool: Pool;
  readonly kafka: Kafka;
  readonly psp: PspClient;
  readonly logger: Logger;
  readonly topic: string;
  readonly groupId: string;
  readonly seller: Party;
  readonly firstTrackingPollMs: number;
  readonly capturePollMs?: number;
  /** Counted failed attempts after which a WMS message is dead-lettered (its partition moves on). */
  readonly maxAttempts: number;
  readonly backoff: Backoff;
}

export function fulfillmentSettings(config: Config) {
  return {
    topic: config.wmsEventsTopic,
    groupId: config.fulfillmentConsumerGroup,
    seller: sellerOf(config),
    firstTrackingPollMs: config.trackingPollMs,
    maxAttempts: config.kafkaConsumerMaxAttempts,
    backoff: consumerBackoff(config),
  } satisfies Partial<FulfillmentWorkerOptions>;
}

/** A record's WMS message, checked once at the edge; a malformed one (no handler could ever apply it) is refused. */
function wmsMessageOf(value: unknown): WmsMessage | string {
  try {
    return validWmsMessage(value);
  } catch (error) {
    return `malformed WMS message: ${(error as Error).message}`;
  }
}

/**
 * The fulfillment worker: a Kafka consumer group on the WMS topic. What one fetch of a
 * partition returns is applied in one transaction with its inbox rows (consumer `fulfillment`, the
 * message ids) and its events, so a redelivered message changes nothing; then a shipped shipment's
 * captures are taken at once by the capture processor (woken, it polls now, batching them with
 * anything else due).
 */
export class FulfillmentWorker {
  readonly captures: CaptureProcessor;
  private consumer: RunningKafkaConsumer | undefined;

  constructor(private readonly options: FulfillmentWorkerOptions) {
    this.captures = new CaptureProcessor({
      pool: options.pool,
      psp: options.psp,
      logger: options.logger,
      seller: options.seller,
      pollMs: options.capturePollMs ?? 1_000,
    });
  }

  get joined(): Promise<void> {
    return this.consumer?.joined ?? Promise.resolve();
  }

  async start(): Promise<void> {
    this.consumer = await runKafkaConsumer({
      kafka: this.options.kafka,
      groupId: this.options.groupId,
      topic: this.options.topic,
      logger: this.options.logger,
      parse: wmsMessageOf,
      handle: (messages) => this.receive(messages),
      maxAttempts: this.options.maxAttempts,
      backoff: this.options.backoff,
      deadLetters: new PgDeadLetters(this.options.pool, this.options.logger),
    });
    this.captures.start();
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    await this.captures.stop();
  }

  /**
   * One fetch of one partition (its orders' messages in order) as one batch. A batch that fails is
   * applied again one message per transaction, so a message that cannot be applied fails alone (and
   * its batch is retried: every message already applied is in the inbox and changes nothing; the
   * consumer dead-letters a message that keeps failing). A malformed message never gets here: the
   * consumer dead-letters it at once (wmsMessageOf).
   */
  private async receive(received: readonly KafkaMessage<WmsMessage>[]): Promise<HandlingFailure<KafkaMessage<WmsMessage>>[]> {
    const messages = received.map((m) => m.event);
    const captureIds: string[] = [];
    // In order, a bounded number per transaction, so a large fetch does not hold its orders' locks long.
    for (let from = 0; from < messages.length; from += WMS_BATCH) {
      const batch = messages.slice(from, from + WMS_BATCH);
      try {
        captureIds.push(...(await this.apply(batch)));
      } catch (error) {
        if (batch.length === 1) throw error;
        this.options.logger.warn(
          { err: error, messages: batch.length },
          'applying a batch of WMS messages failed; applying each alone',
        );
        for (const message of batch) captureIds.push(...(await this.apply([message])));
      }
    }
    // The capture processor takes new captures with whatever else is due, as one batch.
    if (captureIds.length > 0) this.captures.wake();
    return [];
  }

  /**
   * Applies WMS messages in one transaction of set-based statements: the orders locked first (in id
   * order), the messages claimed in the inbox (a redelivered one is skipped), the shipments locked, and
   * everything the messages need read at once (shipment lines, the orders' lines and shipments, their
   * open authorizations, locked). Each message is then decided in order against that state, kept up to
   * date in memory (a short pick's lines are read again), and the batch writes once: every shipment's
   * new status, the lines shipped, the captures, every order's events, and — last — every stock change.
   * Returns the captures written.
   */
  async apply(messages: readonly WmsMessage[]): Promise<string[]> {
    return handleOnce(this.options.pool, FULFILLMENT_CONSUMER, messages, {
      entryOf: (m) => ({ orderId: m.order_id, messageId: m.message_id }),
      handle: (tx, claimed, orders: ReadonlyMap<string, { order_id: string; status: string }>) =>
        this.applyClaimed(tx, claimed, orders),
    });
  }

  /** apply inside handleOnce's transaction: the messages claimed now, their orders locked. */
  private async applyClaimed(
    tx: PoolClient,
    claimed: readonly WmsMessage[],
    orders: ReadonlyMap<string, { order_id: string; status: string }>,
  ): Promise<Handled<string[]>> {
    const shipments = new Map(
      (
        await tx.query<ShipmentRow>(
          `SELECT shipment_id, order_id, warehouse_id, status FROM shipments
            WHERE shipment_id = ANY($1::uuid[]) ORDER BY shipment_id FOR UPDATE`,
          [[...new Set(claimed.map((m) => m.shipment_id))]],
        )
      ).rows.map((s) => [s.shipment_id, s]),
    );
    const knownOrders = [...new Set(claimed.map((m) => m.order_id))];
    const itemsOf = await shipmentItemsOf(tx, [...shipments.keys()]);
    const progress = await ordersInProgress(tx, knownOrders);
    const shippingOrders = [...new Set(claimed.filter((m) => m.type === 'shipped').map((m) => m.order_id))];
    const authorizations = new Map(
      [...(await openAuthorizationsOf(tx, shippingOrders, { lock: true }))].map(([orderId, list]) => [
        orderId,
        list.map((a): RunningAuthorization => ({ ...a })),
      ]),
    );

    const events = new Map<string, NewEvent[]>();
    const finalStatus = new Map<string, string>();
    const newStatus = new Map<string, ShipmentStatusName>();
    const shippedBy = new Map<string, WmsMessage>();
    const captures: NewCapture[] = [];
    const short: StockLine[] = [];
    for (const message of claimed) {
      const shipment = shipments.get(message.shipment_id);
      if (shipment === undefined || shipment.order_id !== message.order_id) {
        this.options.logger.warn(
          { shipment_id: message.shipment_id, order_id: message.order_id },
          'WMS message for an unknown shipment',
        );
        continue;
      }
      const items = itemsOf.get(shipment.shipment_id) ?? [];
      let change: ShipmentChange;
      // One case per WMS message type: a type added to the protocol fails to compile here until handled.
      switch (message.type) {
        case 'picked': {
          const picked = await onShipmentPicked(tx, shipment, message, items);
          change = picked;
          short.push(...picked.stockLeaving);
          // Its lines shrank: a later message of this batch reads them as the pick left them.
          if (picked.stockLeaving.length > 0) itemsOf.set(shipment.shipment_id, await shipmentItems(tx, shipment.shipment_id));
          break;
        }
        case 'packed':
          change = onShipmentPacked(shipment);
          break;
        case 'cancelled':
          change = await onShipmentCancelled(tx, shipment);
          break;
        case 'shipped': {
          const shippedNow = onShipmentShipped(shipment, message, items, authorizations.get(shipment.order_id) ?? []);
          change = shippedNow;
          captures.push(...shippedNow.captures);
          if (shippedNow.status !== undefined) {
            shippedBy.set(shipment.shipment_id, message);
            progress.ship(shipment.order_id, items);
          }
          break;
        }
        default: {
          const unknownType: never = message.type;
          throw new Error(`WMS message of unknown type ${String(unknownType)}`);
        }
      }
      if (change.status !== undefined) {
        // Later messages of this batch see the shipment as this one left it.
        shipments.set(shipment.shipment_id, { ...shipment, status: change.status });
        newStatus.set(shipment.shipment_id, change.status);
        progress.setShipmentStatus(shipment.order_id, shipment.shipment_id, change.status);
      }
      if (change.events.length === 0) continue;
      // Each message's events carry the order's status as that message left it.
      const status = progress.statusOf(message.order_id);
      finalStatus.set(message.order_id, status);
      const withStatus = change.events.map((e) => withOrderStatus(e, status));
      events.set(message.order_id, [...(events.get(message.order_id) ?? []), ...withStatus]);
    }
    await writeShipmentChanges(tx, newStatus, shippedBy, this.options.firstTrackingPollMs);
    await insertCaptures(tx, captures);
    const statusOf = new Map([...orders.values()].map((o) => [o.order_id, o.status]));
    return {
      appends: appendsOf(events, finalStatus, statusOf),
      // Last, the stock: the shipped shipments' held reservations consumed, and on hand and reserved
      // drop by those and by the short-picked units (store/stock's consume, hot rows locked until commit).
      last: async (last) => {
        await consume(last, short, { shipmentIds: [...shippedBy.keys()] });
      },
      result: captures.map((c) => c.capture_id),
    };
  }
}
