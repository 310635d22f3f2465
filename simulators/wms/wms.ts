import type { Kafka, Producer } from 'kafkajs';
import { makeTrackingNumber } from '../../domain/trackingNumber.js';
import { withTransaction, type Pool } from '../../platform/db.js';
import { runKafkaConsumer, type KafkaRecord, type RunningKafkaConsumer } from '../../platform/kafkaConsumer.js';
import type { Logger } from '../../platform/logger.js';
import { PollLoop } from '../../platform/pollLoop.js';
import type { WmsMessage } from '../../platform/wmsProtocol.js';
import { shortOf, type ShortPickRule } from './shortPick.js';
import { WmsStep, type WmsShipment } from './store.js';

export interface WmsOptions {
  readonly pool: Pool;
  readonly kafka: Kafka;
  /** Where shipment requests arrive: the order events topic (`shipment.created`). */
  readonly requestsTopic: string;
  /** Where the WMS answers: picked, packed, shipped. */
  readonly answersTopic: string;
  readonly groupId: string;
  readonly stepMs: number;
  readonly shortPicks: readonly ShortPickRule[];
  readonly logger: Logger;
}

const WMS_EVENT_TYPES = new Set(['shipment.created', 'shipment.cancel_requested']);

const STEP_NAMES = ['received', 'picked', 'packed', 'shipped'] as const;

/**
 * The warehouse management system sandbox: a Kafka consumer group on the order events topic takes each
 * `shipment.created` into its own ledger (once: a redelivered request finds it there), then walks it
 * through picked → packed → shipped, one step every `stepMs`, answering on the WMS topic keyed by
 * order id. Picks come up short where WMS_SHORT_PICK says; a shipment with nothing picked stops there.
 */
export class WmsSimulator {
  private consumer: RunningKafkaConsumer | undefined;
  private producer: Producer | undefined;
  private readonly loop: PollLoop;
  private shortPicks: readonly ShortPickRule[];
  private stepMs: number;
  private held: readonly string[] = [];

  constructor(private readonly options: WmsOptions) {
    this.shortPicks = options.shortPicks;
    this.stepMs = options.stepMs;
    const every = Math.max(20, Math.min(250, Math.floor(options.stepMs / 2)));
    this.loop = new PollLoop('WMS tick', every, () => this.tick(), options.logger);
  }

  /** Changes the pace of a running simulator (tests hold shipments in a step this way). */
  setPace(stepMs: number): void {
    // A step is due `stepMs` after the previous one (updated_at), read at each tick: a new pace applies
    // at once to every shipment, waiting or not.
    this.stepMs = stepMs;
  }

  /** Holds every shipment of these warehouses where it is (a warehouse at a standstill; tests and demos). */
  holdWarehouses(warehouseIds: readonly string[]): void {
    this.held = warehouseIds;
  }

  /** Changes the short-pick rules of a running simulator (tests whose SKUs exist only after start). */
  setShortPicks(rules: readonly ShortPickRule[]): void {
    this.shortPicks = rules;
  }

  get joined(): Promise<void> {
    return this.consumer?.joined ?? Promise.resolve();
  }

  async start(): Promise<void> {
    this.producer = this.options.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    this.consumer = await runKafkaConsumer({
      kafka: this.options.kafka,
      groupId: this.options.groupId,
      topic: this.options.requestsTopic,
      logger: this.options.logger,
      // Only shipment requests and cancellations are for the WMS: the rest of the topic is skipped unparsed.
      // The whole order events topic (64 partitions) for a few event types: fetch in larger, rarer batches.
      maxWaitMs: 500,
      accepts: (headers) => headers.eventType === undefined || WMS_EVENT_TYPES.has(headers.eventType),
      handler: (record) => this.receive(record),
    });
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    await this.loop.stop();
    await this.producer?.disconnect();
  }

  /**
   * A shipment request is recorded once; a cancellation request stops a shipment that has not shipped
   * (waiting for a step in progress to commit: the row lock decides which comes first); every other
   * event on the topic is not for the WMS.
   */
  private async receive(record: KafkaRecord): Promise<void> {
    const envelope = record.value as { type?: string; order_id?: string; payload?: Record<string, unknown> } | undefined;
    if (typeof envelope?.order_id !== 'string') return;
    const p = envelope.payload ?? {};
    if (envelope.type === 'shipment.cancel_requested' && typeof p.shipment_id === 'string') {
      const stopped = await this.options.pool.query(
        `UPDATE shipments SET cancelled = true, stopped = true, updated_at = now()
          WHERE shipment_id = $1 AND step < 3 AND NOT cancelled`,
        [p.shipment_id],
      );
      this.options.logger.info(
        { shipment_id: p.shipment_id, cancelled: stopped.rowCount === 1 },
        'shipment cancellation requested',
      );
      return;
    }
    if (envelope.type !== 'shipment.created') return;
    const items = Array.isArray(p.items) ? (p.items as Array<{ item_id: string; sku: string; quantity: number }>) : [];
    if (typeof p.shipment_id !== 'string' || typeof p.warehouse_id !== 'string' || items.length === 0) {
      this.options.logger.warn({ offset: record.offset }, 'shipment request without shipment, warehouse or items; ignored');
      return;
    }
    const inserted = await this.options.pool.query(
      `INSERT INTO shipments (shipment_id, order_id, warehouse_id, carrier, items)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (shipment_id) DO NOTHING`,
      [
        p.shipment_id,
        envelope.order_id,
        p.warehouse_id,
        typeof p.carrier === 'string' ? p.carrier : null,
        JSON.stringify(items.map((i) => ({ item_id: i.item_id, sku: i.sku, quantity: i.quantity }))),
      ],
    );
    if (inserted.rowCount === 1)
      this.options.logger.info({ shipment_id: p.shipment_id, order_id: envelope.order_id }, 'shipment received');
  }

  /** Publishes what is unpublished, then moves every due shipment one step (and publishes that). */
  private async tick(): Promise<void> {
    await this.publishPending();
    const advanced = await withTransaction(this.options.pool, async (tx) => {
      const due = await tx.query<WmsShipment>(
        `SELECT * FROM shipments
          WHERE step < 3 AND NOT stopped AND published = step AND NOT (warehouse_id = ANY($1))
            AND updated_at + make_interval(secs => $2::double precision / 1000) <= now()
          ORDER BY updated_at LIMIT 100 FOR UPDATE SKIP LOCKED`,
        [this.held, this.stepMs],
      );
      const advanced: Array<{ id: string; step: number; short: string; stopped: boolean; tracking: string | null }> = [];
      for (const s of due.rows) {
        const step = s.step + 1;
        let short = s.short;
        let stopped = false;
        let tracking: string | null = s.tracking_number;
        if (step === WmsStep.picked) {
          short = s.items
            .map((i) => ({ ...i, quantity: shortOf(this.shortPicks, s.warehouse_id, i.sku, i.quantity) }))
            .filter((i) => i.quantity > 0);
          stopped = picked(s.items, short).length === 0;
        }
        if (step === WmsStep.shipped) tracking = makeTrackingNumber(s.carrier ?? 'dhl', Date.now());
        advanced.push({ id: s.shipment_id, step, short: JSON.stringify(short), stopped, tracking });
      }
      if (advanced.length > 0) {
        await tx.query(
          `UPDATE shipments s SET step = a.step, short = a.short, stopped = a.stopped, tracking_number = a.tracking,
                  updated_at = now()
             FROM unnest($1::uuid[], $2::int[], $3::jsonb[], $4::bool[], $5::text[]) AS a(shipment_id, step, short, stopped, tracking)
            WHERE s.shipment_id = a.shipment_id`,
          [
            advanced.map((a) => a.id),
            advanced.map((a) => a.step),
            advanced.map((a) => a.short),
            advanced.map((a) => a.stopped),
            advanced.map((a) => a.tracking),
          ],
        );
      }
      return due.rows.length;
    });
    if (advanced > 0) await this.publishPending();
  }

  private async publishPending(): Promise<void> {
    const pending = await this.options.pool.query<WmsShipment>(
      'SELECT * FROM shipments WHERE published < step OR (cancelled AND NOT cancel_published) ORDER BY updated_at LIMIT 500',
    );
    if (pending.rows.length === 0 || this.producer === undefined) return;
    const messages = pending.rows.flatMap((s) => {
      const out: WmsMessage[] = [];
      for (let step = s.published + 1; step <= s.step; step++) out.push(messageFor(s, step));
      if (s.cancelled && !s.cancel_published) out.push(cancelledMessage(s));
      return out;
    });
    await this.producer.send({
      topic: this.options.answersTopic,
      acks: -1,
      messages: messages.map((m) => ({ key: m.order_id, value: JSON.stringify(m), headers: { id: m.message_id } })),
    });
    // One statement marks the whole batch published.
    await this.options.pool.query(
      `UPDATE shipments s SET published = greatest(s.published, p.step), cancel_published = s.cancel_published OR p.cancelled
         FROM unnest($1::uuid[], $2::int[], $3::bool[]) AS p(shipment_id, step, cancelled)
        WHERE s.shipment_id = p.shipment_id`,
      [pending.rows.map((r) => r.shipment_id), pending.rows.map((r) => r.step), pending.rows.map((r) => r.cancelled)],
    );
    for (const s of pending.rows) {
      this.options.logger.info(
        { shipment_id: s.shipment_id, order_id: s.order_id, step: STEP_NAMES[s.step] },
        'shipment step published',
      );
    }
  }
}

function picked(
  items: WmsShipment['items'],
  short: WmsShipment['short'],
): Array<{ item_id: string; sku: string; quantity: number }> {
  return items
    .map((i) => ({ ...i, quantity: i.quantity - (short.find((s) => s.item_id === i.item_id)?.quantity ?? 0) }))
    .filter((i) => i.quantity > 0);
}

function cancelledMessage(s: WmsShipment): WmsMessage {
  return {
    message_id: `${s.shipment_id}:cancelled`,
    type: 'cancelled',
    shipment_id: s.shipment_id,
    order_id: s.order_id,
    warehouse_id: s.warehouse_id,
    occurred_at: new Date().toISOString(),
  };
}

function messageFor(s: WmsShipment, step: number): WmsMessage {
  const type = STEP_NAMES[step] as WmsMessage['type'];
  const base = {
    message_id: `${s.shipment_id}:${type}`,
    type,
    shipment_id: s.shipment_id,
    order_id: s.order_id,
    warehouse_id: s.warehouse_id,
    occurred_at: new Date().toISOString(),
  };
  if (step === WmsStep.picked) return { ...base, items: picked(s.items, s.short), short: s.short };
  if (step === WmsStep.shipped)
    return { ...base, items: picked(s.items, s.short), carrier: s.carrier ?? 'dhl', tracking_number: s.tracking_number ?? '' };
  return base;
}
