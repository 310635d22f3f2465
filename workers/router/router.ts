import { OrderEventType } from '../../domain/events.js';
import { AT_WAREHOUSE } from '../../domain/fulfillment.js';
import { CARRIER_COVERAGE, locate } from '../../domain/geo.js';
import type { Address } from '../../domain/order.js';
import {
  chooseCarrier,
  planShipments,
  type CandidateWarehouse,
  type PlannedShipment,
  type RoutingLine,
  type WarehouseScore,
} from '../../domain/routing.js';
import { withTransaction, type Pool, type PoolClient } from '../../platform/db.js';
import { appendToOrder, type NewEvent } from '../../platform/eventStore.js';
import { uuidv7 } from '../../platform/ids.js';
import { claimMessage, currentFulfillmentStatus, lockOrder, wasProcessed } from '../../platform/orderProgress.js';
import type { Logger } from '../../platform/logger.js';
import type { InventorySnapshot, InventorySnapshotData } from './inventorySnapshot.js';

export const ROUTER_CONSUMER = 'router';

/** How long a counted warehouse backlog is used before it is counted again. */
const BACKLOG_MS = 1_000;

/** Tries with fresh data after a failed validation; beyond this the message is retried later. */
const MAX_ATTEMPTS = 4;

export interface RouterDeps {
  readonly pool: Pool;
  readonly snapshot: InventorySnapshot;
  readonly logger: Logger;
}

interface OrderToRoute {
  readonly status: string;
  readonly address: Address;
  readonly lines: ReadonlyArray<RoutingLine & { readonly unit_price: number }>;
}

/** What one routing asks for: the lines to place, and whose stock they may use. */
interface RoutingRequest {
  readonly orderId: string;
  /** The message this routing answers: recorded in the inbox with the effect. */
  readonly messageId: string;
  readonly lines: ReadonlyArray<RoutingLine & { readonly unit_price: number }>;
  /** The order's own held reservations not yet assigned to a shipment count as available to it. */
  readonly useOwnHolds: boolean;
  readonly excludeWarehouses: readonly string[];
  /** Units no warehouse has are cancelled on their lines (a short pick) instead of failing. */
  readonly cancelWhatNobodyHas: boolean;
  readonly address: Address;
  readonly allowedStatuses: readonly string[];
  readonly reason: string;
}

export type RoutingOutcome =
  | { readonly kind: 'routed'; readonly shipments: readonly PlannedShipment[]; readonly attempts: number }
  | { readonly kind: 'skipped'; readonly why: string };

async function loadOrder(db: Pool | PoolClient, orderId: string): Promise<OrderToRoute | undefined> {
  const order = await db.query<{ status: string; shipping_address: Address }>(
    'SELECT status::text, shipping_address FROM orders WHERE order_id = $1 AND created_at = uuid7_time($1)',
    [orderId],
  );
  const row = order.rows[0];
  if (row === undefined) return undefined;
  const lines = await db.query<RoutingLine & { unit_price: number }>(
    // What no shipment holds: ordered, not cancelled, and in no shipment but a cancelled one.
    `SELECT i.item_id, i.sku, i.unit_price, p.weight_grams,
            i.quantity - i.quantity_cancelled - coalesce((
              SELECT sum(si.quantity) FROM shipment_items si JOIN shipments s ON s.shipment_id = si.shipment_id
               WHERE si.item_id = i.item_id AND s.status <> 'cancelled'), 0)::int AS quantity
       FROM order_items i JOIN products p ON p.sku = i.sku
      WHERE i.order_id = $1 ORDER BY i.line_no`,
    [orderId],
  );
  return { status: row.status, address: row.shipping_address, lines: lines.rows.filter((l) => l.quantity > 0) };
}

/**
 * The fulfillment router (contract §5). Plans from the inventory snapshot, then, in one transaction
 * holding the order row and the stock rows involved, validates the plan against live stock and commits
 * it: reservations move to the chosen warehouses, shipments and their items are created, the order
 * becomes `processing`, `shipment.created` is emitted per shipment, and the message goes into the
 * inbox. A plan live stock no longer supports is thrown away and made again from fresh data.
 */
export class Router {
  private backlogCache: { at: number; units: Map<string, number> } | undefined;

  constructor(private readonly deps: RouterDeps) {}

  /** `order.confirmed`: the whole order, from the stock its placement reserved and what is free. */
  routeConfirmedOrder(orderId: string, messageId: string): Promise<RoutingOutcome> {
    return this.routeWhatNoShipmentHolds(orderId, messageId, ['confirmed'], 'order.confirmed');
  }

  /**
   * `order.modified` / `order.modification_rejected`: an edit cancelled shipments (and maybe changed the
   * lines or the address); the lines no shipment holds now are routed from the stock the order holds.
   */
  routeUnassigned(orderId: string, messageId: string): Promise<RoutingOutcome> {
    return this.routeWhatNoShipmentHolds(orderId, messageId, ['processing', 'partially_shipped', 'shipped'], 'order.modified');
  }

  private async routeWhatNoShipmentHolds(
    orderId: string,
    messageId: string,
    allowedStatuses: readonly string[],
    reason: string,
  ): Promise<RoutingOutcome> {
    if (await wasProcessed(this.deps.pool, ROUTER_CONSUMER, messageId)) return { kind: 'skipped', why: 'already routed' };
    const order = await loadOrder(this.deps.pool, orderId);
    if (order === undefined) return { kind: 'skipped', why: 'unknown order' };
    return this.route({
      orderId,
      messageId,
      lines: order.lines,
      useOwnHolds: true,
      excludeWarehouses: [],
      cancelWhatNobodyHas: false,
      address: order.address,
      allowedStatuses,
      reason,
    });
  }

  /** `shipment.short_picked`: the missing units, from any other warehouse that has them. */
  async rerouteShortPick(
    orderId: string,
    messageId: string,
    shipment: { warehouse_id: string; short: ReadonlyArray<{ item_id: string; quantity: number }> },
  ): Promise<RoutingOutcome> {
    if (await wasProcessed(this.deps.pool, ROUTER_CONSUMER, messageId)) return { kind: 'skipped', why: 'already re-routed' };
    const order = await loadOrder(this.deps.pool, orderId);
    if (order === undefined) return { kind: 'skipped', why: 'unknown order' };
    const lines = shipment.short.flatMap((s) => {
      const line = order.lines.find((l) => l.item_id === s.item_id);
      return line === undefined ? [] : [{ ...line, quantity: s.quantity }];
    });
    return this.route({
      orderId,
      messageId,
      lines,
      useOwnHolds: false,
      excludeWarehouses: [shipment.warehouse_id],
      cancelWhatNobodyHas: true,
      address: order.address,
      allowedStatuses: ['processing', 'partially_shipped', 'shipped'],
      reason: 'shipment.short_picked',
    });
  }

  private async route(request: RoutingRequest): Promise<RoutingOutcome> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      // A short pick cancels what nobody has: decided from fresh data, never from an old snapshot.
      const snapshot = await this.deps.snapshot.get({ fresh: attempt > 1 || request.cancelWhatNobodyHas });
      const holds = request.useOwnHolds ? await this.ownHolds(this.deps.pool, request.orderId) : new Map<string, number>();
      const lines = request.cancelWhatNobodyHas
        ? fillable(request.lines, snapshot, holds, request.excludeWarehouses)
        : request.lines;
      const plan = this.plan(lines, request, snapshot, holds, await this.backlog());
      if (plan === undefined) {
        this.deps.logger.info({ order_id: request.orderId, attempt }, 'no plan from the snapshot; routing again from fresh data');
        continue;
      }
      const committed = await withTransaction(this.deps.pool, (tx) => this.commit(tx, request, lines, plan, snapshot)).catch(
        (error: unknown) => {
          if (error instanceof StalePlan) return { kind: 'stale' as const };
          throw error;
        },
      );
      if (committed.kind !== 'stale') {
        if (committed.kind === 'routed') {
          this.addToBacklog(plan.shipments);
          this.deps.logger.info(
            { order_id: request.orderId, shipments: plan.shipments.map((s) => s.warehouse_id), attempt, reason: request.reason },
            'order routed',
          );
          return { kind: 'routed', shipments: plan.shipments, attempts: attempt };
        }
        return committed;
      }
      this.deps.logger.info(
        { order_id: request.orderId, attempt },
        'plan failed validation against live stock; re-routing from fresh data',
      );
    }
    throw new Error(`order ${request.orderId}: no valid routing after ${MAX_ATTEMPTS} attempts`);
  }

  private plan(
    lines: RoutingRequest['lines'],
    request: RoutingRequest,
    snapshot: InventorySnapshotData,
    holds: ReadonlyMap<string, number>,
    backlog: ReadonlyMap<string, number>,
  ): { shipments: readonly PlannedShipment[]; scores: readonly WarehouseScore[] } | undefined {
    if (lines.length === 0) return { shipments: [], scores: [] };
    const destination = destinationOf(request.address, snapshot);
    const candidates: CandidateWarehouse[] = snapshot.warehouses
      .filter((w) => !request.excludeWarehouses.includes(w.warehouse_id))
      .map((w) => ({
        ...w,
        open_units: backlog.get(w.warehouse_id) ?? 0,
        available: availableTo(snapshot, holds, w.warehouse_id),
      }));
    const plan = planShipments(lines, destination, candidates, CARRIER_COVERAGE);
    return plan.ok ? plan : undefined;
  }

  /**
   * Units in shipments not yet shipped, per warehouse, read live: unlike stock, a backlog changes with
   * every routed order and is cheap to count, so a burst of orders spreads as it builds up.
   */
  private async backlog(): Promise<Map<string, number>> {
    // Counted at most once a second (the count scans every open shipment); what this process routes in
    // between is added as it commits, so a burst still spreads over the warehouses as it builds.
    if (this.backlogCache !== undefined && Date.now() - this.backlogCache.at < BACKLOG_MS) return this.backlogCache.units;
    const open = await this.deps.pool.query<{ warehouse_id: string; units: number }>(
      `SELECT s.warehouse_id, sum(si.quantity)::int AS units
         FROM shipments s JOIN shipment_items si ON si.shipment_id = s.shipment_id
        WHERE s.status = ANY($1)
        GROUP BY s.warehouse_id`,
      [AT_WAREHOUSE],
    );
    const units = new Map(open.rows.map((r) => [r.warehouse_id, r.units]));
    this.backlogCache = { at: Date.now(), units };
    return units;
  }

  private addToBacklog(shipments: readonly PlannedShipment[]): void {
    const units = this.backlogCache?.units;
    if (units === undefined) return;
    for (const s of shipments)
      units.set(s.warehouse_id, (units.get(s.warehouse_id) ?? 0) + s.items.reduce((sum, i) => sum + i.quantity, 0));
  }

  /** The order's held reservations not yet in a shipment, by `warehouse|sku`. */
  private async ownHolds(db: Pool | PoolClient, orderId: string, lock = false): Promise<Map<string, number>> {
    const held = await db.query<{ warehouse_id: string; sku: string; quantity: number }>(
      `SELECT warehouse_id, sku, quantity FROM reservations
        WHERE order_id = $1 AND status = 'held' AND shipment_id IS NULL
        ORDER BY sku, warehouse_id${lock ? ' FOR UPDATE' : ''}`,
      [orderId],
    );
    const byPair = new Map<string, number>();
    for (const r of held.rows)
      byPair.set(pairKey(r.warehouse_id, r.sku), (byPair.get(pairKey(r.warehouse_id, r.sku)) ?? 0) + r.quantity);
    return byPair;
  }

  private async commit(
    tx: PoolClient,
    request: RoutingRequest,
    lines: RoutingRequest['lines'],
    plan: { shipments: readonly PlannedShipment[]; scores: readonly WarehouseScore[] },
    snapshot: InventorySnapshotData,
  ): Promise<{ kind: 'routed' } | { kind: 'stale' } | { kind: 'skipped'; why: string }> {
    const order = await lockOrder<{ status: string; cancel_requested_at: Date | null }>(
      tx,
      request.orderId,
      'status::text AS status, cancel_requested_at',
    );
    // The inbox row first: a redelivery stops here, and a rolled-back attempt takes it back.
    if (!(await claimMessage(tx, ROUTER_CONSUMER, request.messageId))) return { kind: 'skipped', why: 'already routed' };
    const status = order?.status;
    if (status === undefined || !request.allowedStatuses.includes(status))
      return { kind: 'skipped', why: `order is ${status ?? 'missing'}` };
    // A cancellation asked for under this same lock: nothing more is routed (its saga cancels the rest).
    if (order?.cancel_requested_at != null) return { kind: 'skipped', why: 'cancellation requested' };

    const holds = request.useOwnHolds ? await this.ownHolds(tx, request.orderId, true) : new Map<string, number>();
    const wanted = new Map<string, number>();
    for (const s of plan.shipments)
      for (const i of s.items)
        wanted.set(pairKey(s.warehouse_id, i.sku), (wanted.get(pairKey(s.warehouse_id, i.sku)) ?? 0) + i.quantity);
    // Stock: reserved moves from the held pairs to the planned ones (net per pair), checked and taken in
    // the transaction's last statement (see moveReserved), so hot stock rows are locked only briefly.
    const delta = new Map<string, number>();
    for (const [pair, q] of holds) delta.set(pair, (delta.get(pair) ?? 0) - q);
    for (const [pair, q] of wanted) delta.set(pair, (delta.get(pair) ?? 0) + q);
    const moves = [...delta].filter(([, q]) => q !== 0).map(([pair, q]) => ({ pair: splitPair(pair), delta: q }));

    if (holds.size > 0) {
      await tx.query(
        `UPDATE reservations SET status = 'released', updated_at = now()
          WHERE order_id = $1 AND status = 'held' AND shipment_id IS NULL`,
        [request.orderId],
      );
    }

    const events: NewEvent[] = [];
    const country = request.address.country;
    const priceOf = new Map(lines.map((l) => [l.item_id, l.unit_price]));
    for (const planned of plan.shipments) {
      const shipmentId = uuidv7();
      const warehouse = snapshot.warehouses.find((w) => w.warehouse_id === planned.warehouse_id);
      const carrier = chooseCarrier(warehouse?.carriers ?? [], country, CARRIER_COVERAGE);
      await tx.query(
        `INSERT INTO shipments (shipment_id, order_id, warehouse_id, requested_carrier, status) VALUES ($1, $2, $3, $4, 'created')`,
        [shipmentId, request.orderId, planned.warehouse_id, carrier],
      );
      const items = planned.items.map((i) => ({ ...i, unit_price: priceOf.get(i.item_id) ?? 0 }));
      await tx.query(
        `INSERT INTO shipment_items (shipment_id, item_id, sku, quantity, unit_price)
         SELECT $1, i, s, q, p FROM unnest($2::uuid[], $3::text[], $4::int[], $5::bigint[]) AS t(i, s, q, p)`,
        [
          shipmentId,
          items.map((i) => i.item_id),
          items.map((i) => i.sku),
          items.map((i) => i.quantity),
          items.map((i) => i.unit_price),
        ],
      );
      await tx.query(
        `INSERT INTO reservations (reservation_id, order_id, item_id, warehouse_id, sku, quantity, shipment_id)
         SELECT r, $1, i, $2, s, q, $3 FROM unnest($4::uuid[], $5::uuid[], $6::text[], $7::int[]) AS t(r, i, s, q)`,
        [
          request.orderId,
          planned.warehouse_id,
          shipmentId,
          items.map(() => uuidv7()),
          items.map((i) => i.item_id),
          items.map((i) => i.sku),
          items.map((i) => i.quantity),
        ],
      );
      const score = plan.scores.find((s) => s.warehouse_id === planned.warehouse_id);
      events.push({
        type: OrderEventType.shipmentCreated,
        payload: {
          shipment_id: shipmentId,
          warehouse_id: planned.warehouse_id,
          carrier,
          destination_country: country,
          items,
          routing: {
            reason: request.reason,
            score: score?.score ?? null,
            distance_km: score === undefined ? null : Math.round(score.distance_km),
          },
        },
      });
    }
    await tx.query(
      `UPDATE order_items SET status = 'allocated' WHERE order_id = $1 AND item_id = ANY($2::uuid[]) AND status IN ('pending', 'reserved')`,
      [request.orderId, lines.map((l) => l.item_id)],
    );

    const cancelled = request.lines
      .map((l) => ({
        item_id: l.item_id,
        sku: l.sku,
        quantity: l.quantity - (lines.find((f) => f.item_id === l.item_id)?.quantity ?? 0),
      }))
      .filter((c) => c.quantity > 0);
    if (cancelled.length > 0) {
      await tx.query(
        `UPDATE order_items i SET quantity_cancelled = i.quantity_cancelled + c.quantity
           FROM unnest($2::uuid[], $3::int[]) AS c(item_id, quantity)
          WHERE i.order_id = $1 AND i.item_id = c.item_id`,
        [request.orderId, cancelled.map((c) => c.item_id), cancelled.map((c) => c.quantity)],
      );
      events.push({ type: OrderEventType.itemCancelled, payload: { items: cancelled, reason: 'out_of_stock_after_short_pick' } });
    }

    const orderStatus = await currentFulfillmentStatus(tx, request.orderId);
    const withStatus = events.map((e) => ({ ...e, payload: { ...e.payload, order_status: orderStatus } }));
    await appendToOrder(tx, request.orderId, withStatus, { status: orderStatus });
    if (!(await moveReserved(tx, moves))) throw new StalePlan();
    return { kind: 'routed' };
  }
}

/** Live stock no longer supports the plan: the transaction rolls back and the order is planned again. */
class StalePlan extends Error {
  constructor() {
    super('live stock no longer supports the routing plan');
    this.name = 'StalePlan';
  }
}

/**
 * One statement: locks the stock rows that change, in (sku, warehouse) order as every writer does,
 * checks each has the units it must give (available ≥ the increase of reserved; the order's own holds
 * are already in `reserved`), and moves them. False, changing nothing, when any is short.
 */
async function moveReserved(tx: PoolClient, moves: ReadonlyArray<{ pair: [string, string]; delta: number }>): Promise<boolean> {
  if (moves.length === 0) return true;
  const result = await tx.query<{ ok: boolean }>(
    `WITH d AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) AS t(warehouse_id, sku, delta)
     ), locked AS (
       SELECT i.warehouse_id, i.sku, i.on_hand - i.reserved AS available
         FROM inventory i JOIN d ON d.warehouse_id = i.warehouse_id AND d.sku = i.sku
        ORDER BY i.sku, i.warehouse_id
          FOR NO KEY UPDATE OF i
     ), enough AS (
       SELECT count(*) = (SELECT count(*) FROM d) AND coalesce(bool_and(l.available >= d.delta), true) AS ok
         FROM d JOIN locked l ON l.warehouse_id = d.warehouse_id AND l.sku = d.sku
     ), moved AS (
       UPDATE inventory i SET reserved = i.reserved + d.delta, updated_at = now()
         FROM d, enough e WHERE e.ok AND i.warehouse_id = d.warehouse_id AND i.sku = d.sku
     )
     SELECT ok FROM enough`,
    [moves.map((m) => m.pair[0]), moves.map((m) => m.pair[1]), moves.map((m) => m.delta)],
  );
  return result.rows[0]?.ok === true;
}

function pairKey(warehouseId: string, sku: string): string {
  return `${warehouseId}\u0000${sku}`;
}

function splitPair(key: string): [string, string] {
  const [warehouseId = '', sku = ''] = key.split('\u0000');
  return [warehouseId, sku];
}

function availableTo(
  snapshot: InventorySnapshotData,
  holds: ReadonlyMap<string, number>,
  warehouseId: string,
): Map<string, number> {
  const available = new Map(snapshot.available.get(warehouseId) ?? []);
  for (const [pair, q] of holds) {
    const [w, sku] = splitPair(pair);
    if (w === warehouseId) available.set(sku, (available.get(sku) ?? 0) + q);
  }
  return available;
}

/** Lines cut to what the snapshot says the allowed warehouses hold (the rest will be cancelled). */
function fillable(
  lines: RoutingRequest['lines'],
  snapshot: InventorySnapshotData,
  holds: ReadonlyMap<string, number>,
  exclude: readonly string[],
): RoutingRequest['lines'] {
  const left = new Map<string, number>();
  for (const w of snapshot.warehouses) {
    if (exclude.includes(w.warehouse_id)) continue;
    for (const [sku, q] of availableTo(snapshot, holds, w.warehouse_id)) left.set(sku, (left.get(sku) ?? 0) + q);
  }
  return lines.flatMap((l) => {
    const take = Math.min(l.quantity, left.get(l.sku) ?? 0);
    left.set(l.sku, (left.get(l.sku) ?? 0) - take);
    return take > 0 ? [{ ...l, quantity: take }] : [];
  });
}

/**
 * Where the parcel goes: the address's own coordinates, else its postal region or country (domain/geo);
 * for a country the table does not know, the middle of the warehouses (a neutral point).
 */
function destinationOf(address: Address, snapshot: InventorySnapshotData) {
  const point = locate(address);
  if (point !== undefined) return { ...point, country: address.country };
  const n = Math.max(1, snapshot.warehouses.length);
  return {
    lat: snapshot.warehouses.reduce((s, w) => s + w.lat, 0) / n,
    lon: snapshot.warehouses.reduce((s, w) => s + w.lon, 0) / n,
    country: address.country,
  };
}
