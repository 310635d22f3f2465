import { OrderEventType } from '../../domain/events.js';
import { ShipmentStatus, trackingBackoffMs, trackingUpdate } from '../../domain/fulfillment.js';
import { CarrierUnavailable, type CarrierClient } from '../../platform/carrier.js';
import type { Config } from '../../platform/config.js';
import { withTransaction, type Pool } from '../../platform/db.js';
import { appendToOrder } from '../../platform/eventStore.js';
import type { Logger } from '../../platform/logger.js';
import { currentFulfillmentStatus, lockOrder } from '../../platform/orderProgress.js';
import { PollLoop, type NextTick } from '../../platform/pollLoop.js';

export interface TrackerOptions {
  readonly pool: Pool;
  readonly carrier: CarrierClient;
  readonly logger: Logger;
  /** First poll after a change; doubled per poll that saw nothing new, up to maxPollMs. */
  readonly pollMs: number;
  readonly maxPollMs: number;
  /** How often the tracker looks for shipments due a poll (default: the first poll delay, at most 1 s). */
  readonly tickMs?: number;
}

export function trackerSettings(config: Config) {
  return { pollMs: config.trackingPollMs, maxPollMs: config.trackingMaxPollMs } satisfies Partial<TrackerOptions>;
}

interface DueShipment {
  readonly shipment_id: string;
  readonly order_id: string;
  readonly carrier: string;
  readonly tracking_number: string;
  readonly status: string;
  readonly tracking_attempts: number;
}

/** While a shipment is being polled it is leased this long, so two trackers never poll it at once. */
const LEASE_MS = 30_000;
/** Shipments polled per tick (their carrier calls side by side). */
const POLL_BATCH = 100;

/**
 * The tracking aggregator (contract §5): polls the carrier for every shipment that left a warehouse
 * and has not arrived, each on its own schedule (tracking_next_poll_at) with backoff while nothing
 * changes; records `shipment.in_transit` and `shipment.delivered`, and the order's status follows from
 * its shipments (`shipped` → `delivered` once every shipment that left has arrived).
 */
export class Tracker {
  private readonly loop: PollLoop;

  constructor(private readonly options: TrackerOptions) {
    this.loop = new PollLoop(
      'tracking poll',
      options.tickMs ?? Math.min(1_000, options.pollMs),
      // A full batch means more may be due: the next tick follows at once.
      async (): Promise<NextTick> => ({ dueInMs: (await this.pollDue()) === POLL_BATCH ? 0 : Number.MAX_SAFE_INTEGER }),
      options.logger,
    );
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Polls every shipment that is due; returns how many. */
  async pollDue(): Promise<number> {
    const due = await this.options.pool.query<DueShipment>(
      `UPDATE shipments s SET tracking_next_poll_at = now() + make_interval(secs => $1::double precision / 1000)
         FROM (SELECT shipment_id FROM shipments
                WHERE status IN ('shipped', 'in_transit') AND tracking_next_poll_at <= now()
                ORDER BY tracking_next_poll_at LIMIT $2 FOR UPDATE SKIP LOCKED) d
        WHERE s.shipment_id = d.shipment_id
        RETURNING s.shipment_id, s.order_id, s.carrier, s.tracking_number, s.status, s.tracking_attempts`,
      [LEASE_MS, POLL_BATCH],
    );
    const outcomes = await Promise.all(due.rows.map(async (s) => ({ shipment: s, moved: await this.poll(s) })));
    await this.later(outcomes.filter((o) => !o.moved).map((o) => o.shipment));
    return due.rows.length;
  }

  /** Asks the carrier about one shipment; true when it moved on (recorded), false to ask again later. */
  private async poll(shipment: DueShipment): Promise<boolean> {
    const log = { shipment_id: shipment.shipment_id, order_id: shipment.order_id };
    let answer;
    try {
      answer = await this.options.carrier.track(shipment.carrier, shipment.tracking_number);
    } catch (error) {
      if (!(error instanceof CarrierUnavailable)) throw error;
      this.options.logger.warn({ ...log, err: error.message }, 'carrier unavailable; polling later');
      return false;
    }
    const reported = answer.kind === 'status' ? answer.status : undefined;
    const next = reported === undefined ? undefined : trackingUpdate(shipment.status, reported);
    if (reported === undefined || next === undefined) return false;
    return withTransaction(this.options.pool, async (tx) => {
      const order = await lockOrder(tx, shipment.order_id);
      const current = await tx.query<{ status: string }>('SELECT status FROM shipments WHERE shipment_id = $1 FOR UPDATE', [
        shipment.shipment_id,
      ]);
      const status = current.rows[0]?.status;
      // Another tracker moved it on meanwhile: nothing to record, nothing to back off.
      if (order === undefined || status === undefined || trackingUpdate(status, reported) === undefined) return true;
      const delivered = next === ShipmentStatus.delivered;
      await tx.query(
        `UPDATE shipments SET status = $2, updated_at = now(), tracking_attempts = 0,
                in_transit_at = coalesce(in_transit_at, now()),
                delivered_at = CASE WHEN $3 THEN now() ELSE delivered_at END,
                tracking_next_poll_at = CASE WHEN $3 THEN NULL ELSE now() + make_interval(secs => $4::double precision / 1000) END
          WHERE shipment_id = $1`,
        [shipment.shipment_id, next, delivered, this.options.pollMs],
      );
      if (delivered) {
        await tx.query(
          `UPDATE order_items i SET status = 'delivered'
            WHERE i.order_id = $1 AND i.quantity_shipped + i.quantity_cancelled >= i.quantity
              AND NOT EXISTS (SELECT 1 FROM shipment_items si JOIN shipments s ON s.shipment_id = si.shipment_id
                               WHERE si.item_id = i.item_id AND si.quantity > 0 AND s.status <> 'delivered' AND s.status <> 'cancelled')`,
          [shipment.order_id],
        );
      }
      const orderStatus = await currentFulfillmentStatus(tx, shipment.order_id);
      const payload = {
        shipment_id: shipment.shipment_id,
        carrier: shipment.carrier,
        tracking_number: shipment.tracking_number,
        order_status: orderStatus,
      };
      await appendToOrder(
        tx,
        shipment.order_id,
        [{ type: delivered ? OrderEventType.shipmentDelivered : OrderEventType.shipmentInTransit, payload }],
        {
          ...(orderStatus === order.status ? {} : { status: orderStatus }),
        },
      );
      this.options.logger.info({ ...log, status: next }, 'shipment tracked');
      return true;
    });
  }

  /** Backs off, in one statement, every shipment whose poll saw nothing new. */
  private async later(shipments: readonly DueShipment[]): Promise<void> {
    if (shipments.length === 0) return;
    await this.options.pool.query(
      `UPDATE shipments s SET tracking_attempts = s.tracking_attempts + 1,
              tracking_next_poll_at = now() + make_interval(secs => l.wait_ms::double precision / 1000)
         FROM unnest($1::uuid[], $2::int[]) AS l(shipment_id, wait_ms)
        WHERE s.shipment_id = l.shipment_id AND s.status IN ('shipped', 'in_transit')`,
      [
        shipments.map((s) => s.shipment_id),
        shipments.map((s) => trackingBackoffMs(s.tracking_attempts + 1, this.options.pollMs, this.options.maxPollMs)),
      ],
    );
  }
}
