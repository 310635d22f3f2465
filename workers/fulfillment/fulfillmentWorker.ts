import type { Kafka } from 'kafkajs';
import type { Party } from '../../domain/invoice.js';
import type { Config } from '../../platform/config.js';
import { withTransaction, type Pool, type PoolClient } from '../../platform/db.js';
import { sellerOf } from '../../platform/documents.js';
import { appendToOrder, type NewEvent } from '../../platform/eventStore.js';
import { runKafkaConsumer, type KafkaRecord, type RunningKafkaConsumer } from '../../platform/kafkaConsumer.js';
import type { Logger } from '../../platform/logger.js';
import { claimMessage, currentFulfillmentStatus, lockOrder } from '../../platform/orderProgress.js';
import type { PspClient } from '../../platform/psp.js';
import { CaptureProcessor } from './captureProcessor.js';
import { onShipmentCancelled } from './handlers/shipmentCancelled.js';
import { onShipmentPacked } from './handlers/shipmentPacked.js';
import { onShipmentPicked } from './handlers/shipmentPicked.js';
import { onShipmentShipped } from './handlers/shipmentShipped.js';
import { lockShipment } from './shipmentStore.js';
import { validWmsMessage, type WmsMessage } from '../../platform/wmsProtocol.js';

export const FULFILLMENT_CONSUMER = 'fulfillment';

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
}

export function fulfillmentSettings(config: Config) {
  return {
    topic: config.wmsEventsTopic,
    groupId: config.fulfillmentConsumerGroup,
    seller: sellerOf(config),
    firstTrackingPollMs: config.trackingPollMs,
  } satisfies Partial<FulfillmentWorkerOptions>;
}

/**
 * The fulfillment worker: a Kafka consumer group on the WMS topic. Each WMS message is applied in one
 * transaction with its inbox row (consumer `fulfillment`, the message id) and its events, so a
 * redelivered message changes nothing; then a shipped shipment's captures are taken at once by the
 * capture processor (woken, it polls now, batching them with anything else due).
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
      handler: (record) => this.receive(record),
    });
    this.captures.start();
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    await this.captures.stop();
  }

  private async receive(record: KafkaRecord): Promise<void> {
    let message: WmsMessage;
    try {
      message = validWmsMessage(record.value);
    } catch (error) {
      // A message no handler could ever apply is logged and skipped, not retried forever.
      this.options.logger.error({ err: error, topic: record.topic, offset: record.offset }, 'malformed WMS message skipped');
      return;
    }
    // The capture processor takes new captures with whatever else is due, as one batch.
    if ((await this.apply(message)).length > 0) this.captures.wake();
  }

  /** Applies one WMS message; returns the captures to attempt when a shipment shipped. */
  async apply(message: WmsMessage): Promise<string[]> {
    return withTransaction(this.options.pool, async (tx) => {
      const order = await lockOrder(tx, message.order_id);
      if (order === undefined || !(await claimMessage(tx, FULFILLMENT_CONSUMER, message.message_id))) return [];
      const shipment = await lockShipment(tx, message.shipment_id);
      if (shipment === undefined || shipment.order_id !== message.order_id) {
        this.options.logger.warn(
          { shipment_id: message.shipment_id, order_id: message.order_id },
          'WMS message for an unknown shipment',
        );
        return [];
      }
      let events: NewEvent[];
      let captureIds: string[] = [];
      let lastly: ((last: PoolClient) => Promise<void>) | undefined;
      if (message.type === 'picked') events = await onShipmentPicked(tx, shipment, message);
      else if (message.type === 'packed') events = await onShipmentPacked(tx, shipment);
      else if (message.type === 'cancelled') events = await onShipmentCancelled(tx, shipment);
      else ({ events, captureIds, lastly } = await onShipmentShipped(tx, shipment, message, this.options.firstTrackingPollMs));
      if (events.length > 0) {
        const status = await currentFulfillmentStatus(tx, message.order_id);
        const withStatus = events.map((e) => ({ ...e, payload: { ...e.payload, order_status: status } }));
        await appendToOrder(tx, message.order_id, withStatus, status === order.status ? {} : { status });
      }
      await lastly?.(tx);
      return captureIds;
    });
  }
}
