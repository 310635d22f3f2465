import { OrderEventType } from '../../domain/events.js';
import { ShipmentStatus, trackingBackoffMs, type ShipmentStatusName } from '../../domain/fulfillment.js';
import type { OrderStatusName } from '../../domain/order.js';
import { CarrierUnavailable, type CarrierClient } from '../../platform/carrier.js';
import { isCarrierStatus, type CarrierStatusName } from '../../platform/carrierProtocol.js';
import type { Config } from '../../platform/config.js';
import { withTransaction, type Pool } from '../../platform/db.js';
import type { Logger } from '../../platform/logger.js';
import { PollLoop, type NextTick } from '../../platform/pollLoop.js';
import { continuingOrder, inServiceScope } from '../../platform/traceScope.js';
import type { EventMetadata } from '../../platform/eventEnvelope.js';
import { appendsOf, appendToOrders, latestMetadataOf, type NewEvent } from '../../store/eventStore.js';
import { OrdersInProgress, type LineProgress } from '../../store/orderProgress.js';
import { lockOrders } from '../../store/orderLock.js';
import { trackingUpdate } from './trackingUpdate.js';

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
  /** The order's latest event's metadata: the carrier call carries its correlation. */
  readonly metadata: EventMetadata | null;
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
      // Its events take their order's correlation from the order's last event (no message in hand: platform/traceScope).
      () =>
        inServiceScope('tracking', async (): Promise<NextTick> => ({
          dueInMs: (await this.pollDue()) === POLL_BATCH ? 0 : Number.MAX_SAFE_INTEGER,
        })),
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
        RETURNING s.shipment_id, s.order_id, s.carrier, s.tracking_number, s.status, s.tracking_attempts,
                  ${latestMetadataOf('s.order_id')} AS metadata`,
      [LEASE_MS, POLL_BATCH],
    );
    const answers = await Promise.all(due.rows.map(async (s) => ({ shipment: s, reported: await this.ask(s) })));
    const moved = answers.flatMap(({ shipment, reported }) =>
      reported !== undefined && trackingUpdate(shipment.status, reported) !== undefined ? [{ shipment, reported }] : [],
    );
    if (moved.length > 0) await this.record(moved);
    const movedIds = new Set(moved.map((m) => m.shipment.shipment_id));
    await this.later(due.rows.filter((s) => !movedIds.has(s.shipment_id)));
    return due.rows.length;
  }

  /** What the carrier says about one shipment; undefined when it said nothing usable (ask again later). */
  private async ask(shipment: DueShipment): Promise<CarrierStatusName | undefined> {
    try {
      // The carrier sandbox logs the order's correlation id and trace with the call (platform/traceScope).
      const answer = await continuingOrder(shipment.order_id, shipment.metadata, 'tracking', () =>
        this.options.carrier.track(shipment.carrier, shipment.tracking_number),
      );
      return answer.kind === 'status' && isCarrierStatus(answer.status) ? answer.status : undefined;
    } catch (error) {
      if (!(error instanceof CarrierUnavailable)) throw error;
      this.options.logger.warn(
        { shipment_id: shipment.shipment_id, order_id: shipment.order_id, err: error.message },
        'carrier unavailable; polling later',
      );
      return undefined;
    }
  }

  /**
   * Records, in one transaction and set-based, every shipment that moved on: the orders locked first
   * (in id order, one statement), then their shipments; one statement updates the shipments and one
   * the delivered lines; each order gets its events in one append, each event with the order's status
   * as of that shipment. A shipment another tracker moved on meanwhile is left as it is.
   */
  private async record(moved: ReadonlyArray<{ shipment: DueShipment; reported: CarrierStatusName }>): Promise<void> {
    const orderIds = [...new Set(moved.map((m) => m.shipment.order_id))];
    await withTransaction(this.options.pool, async (tx) => {
      const locked = await lockOrders(tx, orderIds);
      const shipments = await tx.query<{ shipment_id: string; order_id: string; status: string }>(
        'SELECT shipment_id, order_id, status FROM shipments WHERE order_id = ANY($1::uuid[]) ORDER BY shipment_id FOR UPDATE',
        [orderIds],
      );
      const lines = await tx.query<LineProgress & { order_id: string }>(
        'SELECT order_id, item_id, quantity, quantity_shipped, quantity_cancelled FROM order_items WHERE order_id = ANY($1::uuid[])',
        [orderIds],
      );
      const progress = new OrdersInProgress(lines.rows, shipments.rows);
      const lockedStatus = new Map([...locked.values()].map((o) => [o.order_id, o.status]));
      const statusOf = new Map(shipments.rows.map((s) => [s.shipment_id, s.status]));
      const updates: Array<{ shipment_id: string; order_id: string; status: ShipmentStatusName; delivered: boolean }> = [];
      const events = new Map<string, NewEvent[]>();
      const finalStatus = new Map<string, OrderStatusName>();
      for (const { shipment, reported } of moved) {
        const current = statusOf.get(shipment.shipment_id);
        // Another tracker moved it on meanwhile (or its order is gone): nothing to record.
        const next =
          current === undefined || !lockedStatus.has(shipment.order_id) ? undefined : trackingUpdate(current, reported);
        if (next === undefined) continue;
        statusOf.set(shipment.shipment_id, next);
        progress.setShipmentStatus(shipment.order_id, shipment.shipment_id, next);
        const delivered = next === ShipmentStatus.delivered;
        updates.push({ shipment_id: shipment.shipment_id, order_id: shipment.order_id, status: next, delivered });
        const orderStatus = progress.statusOf(shipment.order_id);
        finalStatus.set(shipment.order_id, orderStatus);
        const payload = {
          shipment_id: shipment.shipment_id,
          carrier: shipment.carrier,
          tracking_number: shipment.tracking_number,
          order_status: orderStatus,
        };
        const type = delivered ? OrderEventType.shipmentDelivered : OrderEventType.shipmentInTransit;
        events.set(shipment.order_id, [...(events.get(shipment.order_id) ?? []), { type, payload }]);
      }
      if (updates.length === 0) return;
      await tx.query(
        `UPDATE shipments s SET status = u.status, updated_at = now(), tracking_attempts = 0,
                in_transit_at = coalesce(s.in_transit_at, now()),
                delivered_at = CASE WHEN u.delivered THEN now() ELSE s.delivered_at END,
                tracking_next_poll_at = CASE WHEN u.delivered THEN NULL
                                             ELSE now() + make_interval(secs => $4::double precision / 1000) END
           FROM unnest($1::uuid[], $2::text[], $3::bool[]) AS u(shipment_id, status, delivered)
          WHERE s.shipment_id = u.shipment_id`,
        [updates.map((u) => u.shipment_id), updates.map((u) => u.status), updates.map((u) => u.delivered), this.options.pollMs],
      );
      const deliveredOrders = [...new Set(updates.filter((u) => u.delivered).map((u) => u.order_id))];
      if (deliveredOrders.length > 0) {
        await tx.query(
          `UPDATE order_items i SET status = 'delivered'
            WHERE i.order_id = ANY($1::uuid[]) AND i.quantity_shipped + i.quantity_cancelled >= i.quantity
              AND NOT EXISTS (SELECT 1 FROM shipment_items si JOIN shipments s ON s.shipment_id = si.shipment_id
                               WHERE si.item_id = i.item_id AND si.quantity > 0 AND s.status <> 'delivered' AND s.status <> 'cancelled')`,
          [deliveredOrders],
        );
      }
      await appendToOrders(tx, appendsOf(events, finalStatus, lockedStatus));
      for (const u of updates) this.options.logger.info({ shipment_id: u.shipment_id, status: u.status }, 'shipment tracked');
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
