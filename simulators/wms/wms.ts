import type { Kafka, Producer } from 'kafkajs';
import { makeTrackingNumber } from '../../platform/carrierProtocol.js';
import type { DeadLetterSink } from '../../platform/deadLetters.js';
import { withTransaction, type Pool } from '../../platform/db.js';
import {
  runKafkaConsumer,
  type KafkaConsumerBackoff,
  type KafkaMessage,
  type RunningKafkaConsumer,
} from '../../platform/kafkaConsumer.js';
import type { Logger } from '../../platform/logger.js';
import type { HandlingFailure } from '../../platform/messageHandler.js';
import { answerHeaders } from '../../platform/traceScope.js';
import { PollLoop, type NextTick } from '../../platform/pollLoop.js';
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
  /** Counted failed attempts after which a request is dead-lettered (its partition moves on). */
  readonly maxAttempts: number;
  readonly backoff: KafkaConsumerBackoff;
  /** Where requests it gives up on go: the OMS's `dead_letters` table (the sandbox runs our consumer code). */
  readonly deadLetters: DeadLetterSink;
}

const WMS_EVENT_TYPES = new Set(['shipment.created', 'shipment.cancel_requested']);

type Units = ReadonlyArray<{ item_id: string; sku: string; quantity: number }>;

/** An order event as the WMS reads it (the sandbox speaks the topic's protocol, not domain/'s types). */
type WmsRequest =
  | {
      readonly type: 'shipment.created';
      readonly order_id: string;
      readonly shipment_id: string;
      readonly warehouse_id: string;
      readonly carrier: string | null;
      readonly items: Units;
    }
  | { readonly type: 'shipment.cancel_requested'; readonly shipment_id: string }
  /** Any other event (one without an `eventType` header gets this far): not for the WMS. */
  | { readonly type: 'other' };

/** The request a record's value holds, checked at this edge; a malformed shipment request or cancellation is refused. */
function requestOf(value: unknown): WmsRequest | string {
  const envelope = value as { type?: unknown; order_id?: unknown; payload?: Record<string, unknown> } | undefined;
  const type = typeof envelope === 'object' && envelope !== null ? envelope.type : undefined;
  if (envelope === undefined || (type !== 'shipment.created' && type !== 'shipment.cancel_requested')) return { type: 'other' };
  const p = envelope.payload ?? {};
  if (type === 'shipment.cancel_requested') {
    return typeof p.shipment_id === 'string'
      ? { type, shipment_id: p.shipment_id }
      : 'shipment cancellation request without a shipment';
  }
  const items = Array.isArray(p.items) ? (p.items as Units) : [];
  if (
    typeof envelope.order_id !== 'string' ||
    typeof p.shipment_id !== 'string' ||
    typeof p.warehouse_id !== 'string' ||
    items.length === 0
  )
    return 'shipment request without order, shipment, warehouse or items';
  return {
    type: 'shipment.created',
    order_id: envelope.order_id,
    shipment_id: p.shipment_id,
    warehouse_id: p.warehouse_id,
    carrier: typeof p.carrier === 'string' ? p.carrier : null,
    items,
  };
}

const STEP_NAMES = ['received', 'picked', 'packed', 'shipped'] as const;

/** With nothing due, the ledger is looked at this often (a new request or a new pace wakes it sooner). */
const IDLE_TICK_MS = 1_000;
/** Shipments advanced per transaction; a full batch means more may be due at once. */
const ADVANCE_BATCH = 100;
const PUBLISH_BATCH = 500;

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
  /**
   * Steps or cancellations may be unpublished while `marked` is ahead of `published` (at start: a
   * previous run may have left some). Counters, not a flag: a mark during a publish is not lost.
   */
  private marked = 1;
  private publishedMark = 0;

  constructor(private readonly options: WmsOptions) {
    this.shortPicks = options.shortPicks;
    this.stepMs = options.stepMs;
    // Each tick answers when the next shipment is due, so the loop sleeps exactly that long (or idles).
    this.loop = new PollLoop('WMS tick', IDLE_TICK_MS, () => this.tick(), options.logger);
  }

  /** Changes the pace of a running simulator (tests hold shipments in a step this way). */
  setPace(stepMs: number): void {
    // A step is due `stepMs` after the previous one (updated_at), read at each tick: a new pace applies
    // at once to every shipment, waiting or not.
    this.stepMs = stepMs;
    this.loop.wake();
  }

  /** Holds every shipment of these warehouses where it is (a warehouse at a standstill; tests and demos). */
  holdWarehouses(warehouseIds: readonly string[]): void {
    this.held = warehouseIds;
    this.loop.wake();
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
      accepts: (headers) => headers.eventType === undefined || WMS_EVENT_TYPES.has(headers.eventType),
      // What one fetch returns for a partition is recorded at once: one statement per kind of request.
      parse: requestOf,
      handle: (messages) => this.receive(messages),
      maxAttempts: this.options.maxAttempts,
      backoff: this.options.backoff,
      deadLetters: this.options.deadLetters,
    });
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    await this.loop.stop();
    await this.producer?.disconnect();
  }

  /**
   * Shipment requests are recorded once (a redelivered request finds its row there); cancellation
   * requests stop shipments that have not shipped (waiting for a step in progress to commit: the row
   * lock decides which comes first); every other event on the topic is not for the WMS. A batch's
   * requests are inserted in one statement, then its cancellations applied in one (a shipment is
   * always requested before it is cancelled).
   */
  private async receive(messages: readonly KafkaMessage<WmsRequest>[]): Promise<HandlingFailure<KafkaMessage<WmsRequest>>[]> {
    const requests: Array<{
      shipment_id: string;
      order_id: string;
      warehouse_id: string;
      carrier: string | null;
      items: string;
      trace: string;
    }> = [];
    const cancellations: string[] = [];
    for (const { event, record } of messages) {
      if (event.type === 'shipment.cancel_requested') cancellations.push(event.shipment_id);
      if (event.type !== 'shipment.created') continue;
      requests.push({
        shipment_id: event.shipment_id,
        order_id: event.order_id,
        warehouse_id: event.warehouse_id,
        carrier: event.carrier,
        items: JSON.stringify(event.items.map((i) => ({ item_id: i.item_id, sku: i.sku, quantity: i.quantity }))),
        trace: JSON.stringify(answerHeaders(record.headers)),
      });
    }
    let woken = false;
    if (requests.length > 0) {
      const inserted = await this.options.pool.query<{ shipment_id: string; order_id: string }>(
        `INSERT INTO shipments (shipment_id, order_id, warehouse_id, carrier, items, trace)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[])
         ON CONFLICT (shipment_id) DO NOTHING
         RETURNING shipment_id, order_id`,
        [
          requests.map((r) => r.shipment_id),
          requests.map((r) => r.order_id),
          requests.map((r) => r.warehouse_id),
          requests.map((r) => r.carrier),
          requests.map((r) => r.items),
          requests.map((r) => r.trace),
        ],
      );
      for (const row of inserted.rows)
        this.options.logger.info({ shipment_id: row.shipment_id, order_id: row.order_id }, 'shipment received');
      woken = inserted.rows.length > 0;
    }
    if (cancellations.length > 0) {
      const stopped = await this.options.pool.query<{ shipment_id: string }>(
        `UPDATE shipments SET cancelled = true, stopped = true, updated_at = now()
          WHERE shipment_id = ANY($1::uuid[]) AND step < 3 AND NOT cancelled
          RETURNING shipment_id`,
        [cancellations],
      );
      const done = new Set(stopped.rows.map((r) => r.shipment_id));
      for (const shipmentId of cancellations)
        this.options.logger.info({ shipment_id: shipmentId, cancelled: done.has(shipmentId) }, 'shipment cancellation requested');
      if (done.size > 0) {
        this.marked++;
        woken = true;
      }
    }
    if (woken) this.loop.wake();
    return [];
  }

  /**
   * Publishes what is unpublished, then, when a shipment is due, moves every due shipment one step (and
   * publishes that); answers when the next one is due. An idle ledger costs one query a tick.
   */
  private async tick(): Promise<NextTick> {
    if (this.marked !== this.publishedMark) await this.publishPending();
    const dueInMs = await this.nextDueInMs();
    if (dueInMs === null || dueInMs > 0) return { dueInMs: dueInMs ?? IDLE_TICK_MS };
    const advanced = await withTransaction(this.options.pool, async (tx) => {
      const due = await tx.query<WmsShipment>(
        `SELECT * FROM shipments
          WHERE step < 3 AND NOT stopped AND published = step AND NOT (warehouse_id = ANY($1))
            AND updated_at + make_interval(secs => $2::double precision / 1000) <= now()
          ORDER BY updated_at LIMIT $3 FOR UPDATE SKIP LOCKED`,
        [this.held, this.stepMs, ADVANCE_BATCH],
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
    if (advanced > 0) {
      this.marked++;
      await this.publishPending();
    }
    // Look again at once: the next shipment may be due already (or be the rest of a full batch).
    return { dueInMs: 0 };
  }

  /** Milliseconds until the next shipment's step is due (≤ 0: due now), or null when none waits. */
  private async nextDueInMs(): Promise<number | null> {
    const next = await this.options.pool.query<{ due_in_ms: number | null }>(
      `SELECT (extract(epoch FROM min(updated_at) + make_interval(secs => $2::double precision / 1000) - now()) * 1000)::float8
                AS due_in_ms
         FROM shipments
        WHERE step < 3 AND NOT stopped AND published = step AND NOT (warehouse_id = ANY($1))`,
      [this.held, this.stepMs],
    );
    const dueInMs = next.rows[0]?.due_in_ms ?? null;
    return dueInMs === null ? null : Math.ceil(dueInMs);
  }

  private async publishPending(): Promise<void> {
    const mark = this.marked;
    const pending = await this.options.pool.query<WmsShipment>(
      'SELECT * FROM shipments WHERE published < step OR (cancelled AND NOT cancel_published) ORDER BY updated_at LIMIT $1',
      [PUBLISH_BATCH],
    );
    if (this.producer === undefined) return;
    // Everything marked before the read is published once this batch is (unless the read was full).
    const caughtUp = () => {
      if (pending.rows.length < PUBLISH_BATCH) this.publishedMark = mark;
    };
    if (pending.rows.length === 0) return caughtUp();
    const messages = pending.rows.flatMap((s) => {
      const out: Array<{ message: WmsMessage; trace: WmsShipment['trace'] }> = [];
      for (let step = s.published + 1; step <= s.step; step++) out.push({ message: messageFor(s, step), trace: s.trace });
      if (s.cancelled && !s.cancel_published) out.push({ message: cancelledMessage(s), trace: s.trace });
      return out;
    });
    await this.producer.send({
      topic: this.options.answersTopic,
      acks: -1,
      // Each answer carries its request's correlation id and trace, and names the request as its cause.
      messages: messages.map(({ message: m, trace }) => ({
        key: m.order_id,
        value: JSON.stringify(m),
        headers: { ...trace, id: m.message_id },
      })),
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
    caughtUp();
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
