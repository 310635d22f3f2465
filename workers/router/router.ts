import { OrderEventType, withOrderStatus } from '../../domain/events.js';
import { AT_WAREHOUSE } from '../../domain/fulfillment.js';
import { locate } from '../../domain/geo.js';
import type { Address } from '../../domain/order.js';
import {
  chooseCarrier,
  planShipments,
  type CandidateWarehouse,
  type PlannedShipment,
  type RoutingLine,
  type WarehouseScore,
} from '../../domain/routing.js';
import { CARRIER_COVERAGE } from '../../platform/carrierProtocol.js';
import { type Pool, type PoolClient } from '../../platform/db.js';
import { uuidv7 } from '../../platform/ids.js';
import type { Logger } from '../../platform/logger.js';
import type { NewEvent } from '../../store/eventStore.js';
import { handleOnce, processedAmong, wasProcessed, type Handled } from '../../store/inbox.js';
import { currentFulfillmentStatuses } from '../../store/orderProgress.js';
import { moveReserved } from '../../store/stock.js';
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

/** The orders with their lines no shipment holds yet (ordered, not cancelled, in no live shipment). */
async function loadOrders(db: Pool | PoolClient, orderIds: readonly string[]): Promise<Map<string, OrderToRoute>> {
  const [orders, lines] = [
    await db.query<{ order_id: string; status: string; shipping_address: Address }>(
      `SELECT o.order_id, o.status::text, o.shipping_address
         FROM unnest($1::uuid[]) AS t(order_id) JOIN orders o ON o.order_id = t.order_id AND o.created_at = uuid7_time(t.order_id)`,
      [orderIds],
    ),
    await db.query<RoutingLine & { order_id: string; unit_price: number }>(
      `SELECT i.order_id, i.item_id, i.sku, i.unit_price, p.weight_grams,
              i.quantity - i.quantity_cancelled - coalesce(held.quantity, 0)::int AS quantity
         FROM order_items i JOIN products p ON p.sku = i.sku
         LEFT JOIN (SELECT si.item_id, sum(si.quantity) AS quantity
                      FROM shipments s JOIN shipment_items si ON si.shipment_id = s.shipment_id
                     WHERE s.order_id = ANY($1::uuid[]) AND s.status <> 'cancelled'
                     GROUP BY si.item_id) held ON held.item_id = i.item_id
        WHERE i.order_id = ANY($1::uuid[]) ORDER BY i.order_id, i.line_no`,
      [orderIds],
    ),
  ];
  return new Map(
    orders.rows.map((o) => [
      o.order_id,
      {
        status: o.status,
        address: o.shipping_address,
        lines: lines.rows.filter((l) => l.order_id === o.order_id && l.quantity > 0).map(({ order_id: _order, ...line }) => line),
      },
    ]),
  );
}

/** A routing request with the plan made for it, ready to commit. */
interface PlannedRouting {
  readonly request: RoutingRequest;
  /** The lines the plan places (a short pick's lines cut to what can be had). */
  readonly lines: RoutingRequest['lines'];
  readonly plan: Plan;
}

interface Plan {
  readonly shipments: readonly PlannedShipment[];
  readonly scores: readonly WarehouseScore[];
}

/** An order's row as routing locks it: whether it can still take a routing. */
interface LockedOrder {
  readonly order_id: string;
  readonly status: string;
  readonly cancel_requested_at: Date | null;
}

type CommitOutcome = { readonly kind: 'routed' } | { readonly kind: 'skipped'; readonly why: string };

/**
 * The fulfillment router (contract §5). Plans from the inventory snapshot, then, in one transaction
 * holding the order rows and the stock rows involved, validates the plans against live stock and
 * commits them: reservations move to the chosen warehouses, shipments and their items are created, the
 * order becomes `processing`, `shipment.created` is emitted per shipment, and the message goes into
 * the inbox. Confirmed orders read together are routed together (one transaction, set-based
 * statements); a plan live stock no longer supports is thrown away and each order is planned again,
 * alone, from fresh data.
 */
export class Router {
  private backlogCache: { at: number; units: Map<string, number> } | undefined;

  constructor(private readonly deps: RouterDeps) {}

  /** `order.confirmed`: the whole order, from the stock its placement reserved and what is free. */
  async routeConfirmedOrder(orderId: string, messageId: string): Promise<RoutingOutcome> {
    const outcomes = await this.routeConfirmedOrders([{ orderId, messageId }]);
    return outcomes.get(messageId) ?? { kind: 'skipped', why: 'not routed' };
  }

  /**
   * Many `order.confirmed` at once, by message id: planned one after another against one snapshot (each
   * plan taking what the ones before it took) and committed in ONE transaction. When live stock does
   * not support the plans together, each order is routed again on its own from fresh data.
   */
  async routeConfirmedOrders(
    confirmed: ReadonlyArray<{ readonly orderId: string; readonly messageId: string }>,
  ): Promise<Map<string, RoutingOutcome>> {
    const outcomes = new Map<string, RoutingOutcome>();
    const seen = await processedAmong(
      this.deps.pool,
      ROUTER_CONSUMER,
      confirmed.map((c) => c.messageId),
    );
    const todo = confirmed.filter((c) => !seen.has(c.messageId));
    for (const c of confirmed) if (seen.has(c.messageId)) outcomes.set(c.messageId, { kind: 'skipped', why: 'already routed' });
    if (todo.length === 0) return outcomes;
    const orders = await loadOrders(
      this.deps.pool,
      todo.map((c) => c.orderId),
    );
    const requests: RoutingRequest[] = [];
    for (const c of todo) {
      const order = orders.get(c.orderId);
      if (order === undefined) outcomes.set(c.messageId, { kind: 'skipped', why: 'unknown order' });
      else requests.push(wholeOrder(c.orderId, c.messageId, order, ['confirmed'], 'order.confirmed'));
    }
    if (requests.length === 1) {
      const [only] = requests as [RoutingRequest];
      outcomes.set(only.messageId, await this.route(only));
      return outcomes;
    }
    const together = await this.routeTogether(requests);
    for (const [messageId, outcome] of together) outcomes.set(messageId, outcome);
    // What could not go together goes alone (fresh data, retries).
    for (const request of requests)
      if (!outcomes.has(request.messageId)) outcomes.set(request.messageId, await this.route(request));
    return outcomes;
  }

  /**
   * `order.modified` / `order.modification_rejected`: an edit cancelled shipments (and maybe changed the
   * lines or the address); the lines no shipment holds now are routed from the stock the order holds.
   */
  async routeUnassigned(orderId: string, messageId: string): Promise<RoutingOutcome> {
    if (await wasProcessed(this.deps.pool, ROUTER_CONSUMER, messageId)) return { kind: 'skipped', why: 'already routed' };
    const order = (await loadOrders(this.deps.pool, [orderId])).get(orderId);
    if (order === undefined) return { kind: 'skipped', why: 'unknown order' };
    return this.route(wholeOrder(orderId, messageId, order, ['processing', 'partially_shipped', 'shipped'], 'order.modified'));
  }

  /** `shipment.short_picked`: the missing units, from any other warehouse that has them. */
  async rerouteShortPick(
    orderId: string,
    messageId: string,
    shipment: { warehouse_id: string; short: ReadonlyArray<{ item_id: string; quantity: number }> },
  ): Promise<RoutingOutcome> {
    if (await wasProcessed(this.deps.pool, ROUTER_CONSUMER, messageId)) return { kind: 'skipped', why: 'already re-routed' };
    const order = (await loadOrders(this.deps.pool, [orderId])).get(orderId);
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

  /**
   * Plans every request against one snapshot, each taking the stock the ones before it took, and
   * commits the plans in one transaction. Answers by message id what was committed; a request without
   * a plan, or all of them when live stock does not support the plans, are left out.
   */
  private async routeTogether(requests: readonly RoutingRequest[]): Promise<Map<string, RoutingOutcome>> {
    const snapshot = await this.deps.snapshot.get();
    const available = copyAvailable(snapshot);
    const working: InventorySnapshotData = { ...snapshot, available };
    const holds = await this.ownHolds(
      this.deps.pool,
      requests.map((r) => r.orderId),
    );
    const backlog = new Map(await this.backlog());
    const planned: PlannedRouting[] = [];
    for (const request of requests) {
      const own = holds.get(request.orderId) ?? new Map<string, number>();
      const plan = this.plan(request.lines, request, working, own, backlog);
      if (plan === undefined) continue;
      planned.push({ request, lines: request.lines, plan });
      for (const [pair, delta] of netMoves(own, plan)) takeFrom(available, pair, delta);
      for (const s of plan.shipments) backlog.set(s.warehouse_id, (backlog.get(s.warehouse_id) ?? 0) + unitsOf(s));
    }
    const outcomes = new Map<string, RoutingOutcome>();
    if (planned.length === 0) return outcomes;
    const committed = await this.commitRoutings(planned, snapshot).catch((error: unknown) => {
      if (error instanceof StalePlan) return undefined;
      throw error;
    });
    if (committed === undefined) {
      this.deps.logger.info(
        { orders: planned.length },
        'plans failed validation against live stock together; routing each alone',
      );
      return outcomes;
    }
    for (const p of planned) {
      const outcome = committed.get(p.request.orderId) ?? { kind: 'skipped', why: 'not routed' };
      outcomes.set(
        p.request.messageId,
        outcome.kind === 'routed' ? { kind: 'routed', shipments: p.plan.shipments, attempts: 1 } : outcome,
      );
    }
    return outcomes;
  }

  /** One request, planned and committed alone; planned again from fresh data when live stock disagrees. */
  private async route(request: RoutingRequest): Promise<RoutingOutcome> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      // A short pick cancels what nobody has: decided from fresh data, never from an old snapshot.
      const snapshot = await this.deps.snapshot.get({ fresh: attempt > 1 || request.cancelWhatNobodyHas });
      const holds = request.useOwnHolds
        ? ((await this.ownHolds(this.deps.pool, [request.orderId])).get(request.orderId) ?? new Map<string, number>())
        : new Map<string, number>();
      const lines = request.cancelWhatNobodyHas
        ? fillable(request.lines, snapshot, holds, request.excludeWarehouses)
        : request.lines;
      const plan = this.plan(lines, request, snapshot, holds, await this.backlog());
      if (plan === undefined) {
        this.deps.logger.info({ order_id: request.orderId, attempt }, 'no plan from the snapshot; routing again from fresh data');
        continue;
      }
      const committed = await this.commitRoutings([{ request, lines, plan }], snapshot).catch((error: unknown) => {
        if (error instanceof StalePlan) return undefined;
        throw error;
      });
      if (committed !== undefined) {
        const outcome = committed.get(request.orderId) ?? { kind: 'skipped', why: 'not routed' };
        return outcome.kind === 'routed' ? { kind: 'routed', shipments: plan.shipments, attempts: attempt } : outcome;
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
  ): Plan | undefined {
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
    for (const s of shipments) units.set(s.warehouse_id, (units.get(s.warehouse_id) ?? 0) + unitsOf(s));
  }

  /** The orders' held reservations not yet in a shipment, per order, by `warehouse|sku`. */
  private async ownHolds(
    db: Pool | PoolClient,
    orderIds: readonly string[],
    lock = false,
  ): Promise<Map<string, Map<string, number>>> {
    const held = await db.query<{ order_id: string; warehouse_id: string; sku: string; quantity: number }>(
      `SELECT order_id, warehouse_id, sku, quantity FROM reservations
        WHERE order_id = ANY($1::uuid[]) AND status = 'held' AND shipment_id IS NULL
        ORDER BY order_id, sku, warehouse_id${lock ? ' FOR UPDATE' : ''}`,
      [orderIds],
    );
    const byOrder = new Map<string, Map<string, number>>();
    for (const r of held.rows) {
      let byPair = byOrder.get(r.order_id);
      if (byPair === undefined) byOrder.set(r.order_id, (byPair = new Map()));
      byPair.set(pairKey(r.warehouse_id, r.sku), (byPair.get(pairKey(r.warehouse_id, r.sku)) ?? 0) + r.quantity);
    }
    return byOrder;
  }

  /**
   * Commits planned routings in ONE transaction of set-based statements: the order rows locked (in id
   * order) and each message claimed in the inbox; the orders a routing no longer applies to (status,
   * cancellation, redelivery) are left alone; for the others, held reservations released, shipments,
   * their items and reservations created, lines allocated (or cut after a short pick), events appended
   * with each order's new status, and last the net stock moves checked and taken (moveReserved).
   * Throws StalePlan, changing nothing, when live stock does not support the moves.
   */
  private async commitRoutings(
    planned: readonly PlannedRouting[],
    snapshot: InventorySnapshotData,
  ): Promise<Map<string, CommitOutcome>> {
    // The inbox rows first (handleOnce): a redelivery stops there, and a rolled-back attempt takes them back.
    const outcomes = await handleOnce(this.deps.pool, ROUTER_CONSUMER, planned, {
      entryOf: (p) => p.request,
      columns: 'o.order_id, o.status::text AS status, o.cancel_requested_at',
      handle: (tx, claimedNow, orders: ReadonlyMap<string, LockedOrder>) =>
        this.commitClaimed(tx, planned, claimedNow, orders, snapshot),
    });
    for (const p of planned) {
      if (outcomes.get(p.request.orderId)?.kind !== 'routed') continue;
      this.addToBacklog(p.plan.shipments);
      this.deps.logger.info(
        { order_id: p.request.orderId, shipments: p.plan.shipments.map((s) => s.warehouse_id), reason: p.request.reason },
        'order routed',
      );
    }
    return outcomes;
  }

  /**
   * commitRoutings inside handleOnce's transaction: of the planned routings, those whose message was
   * claimed now and whose order can still take them; their events (each with the order's new status),
   * and last the net stock moves, checked (StalePlan when live stock does not support them).
   */
  private async commitClaimed(
    tx: PoolClient,
    planned: readonly PlannedRouting[],
    claimedNow: readonly PlannedRouting[],
    orders: ReadonlyMap<string, LockedOrder>,
    snapshot: InventorySnapshotData,
  ): Promise<Handled<Map<string, CommitOutcome>>> {
    const result = new Map<string, CommitOutcome>();
    const claimed = new Set(claimedNow);
    const go: PlannedRouting[] = [];
    for (const p of planned) {
      const order = orders.get(p.request.orderId);
      if (order === undefined) result.set(p.request.orderId, { kind: 'skipped', why: 'order is missing' });
      else if (!claimed.has(p)) result.set(p.request.orderId, { kind: 'skipped', why: 'already routed' });
      else if (!p.request.allowedStatuses.includes(order.status))
        result.set(p.request.orderId, { kind: 'skipped', why: `order is ${order.status}` });
      // A cancellation asked for under this same lock: nothing more is routed (its saga cancels the rest).
      else if (order.cancel_requested_at !== null)
        result.set(p.request.orderId, { kind: 'skipped', why: 'cancellation requested' });
      else go.push(p);
    }
    if (go.length === 0) return { appends: [], result };
    const goIds = go.map((p) => p.request.orderId);

    // Stock: reserved moves from the held pairs to the planned ones (net per pair), checked and taken
    // in the transaction's last statement (see moveReserved), so hot stock rows are locked only briefly.
    const holdersIds = go.filter((p) => p.request.useOwnHolds).map((p) => p.request.orderId);
    const holds = holdersIds.length > 0 ? await this.ownHolds(tx, holdersIds, true) : new Map<string, Map<string, number>>();
    if (holds.size > 0) {
      await tx.query(
        `UPDATE reservations SET status = 'released', updated_at = now()
          WHERE order_id = ANY($1::uuid[]) AND status = 'held' AND shipment_id IS NULL`,
        [[...holds.keys()]],
      );
    }

    const shipments: Array<{ id: string; orderId: string; warehouseId: string; carrier: string | null }> = [];
    const items: Array<{
      shipmentId: string;
      orderId: string;
      warehouseId: string;
      item_id: string;
      sku: string;
      quantity: number;
      unit_price: number;
    }> = [];
    const cancelled: Array<{ orderId: string; item_id: string; sku: string; quantity: number }> = [];
    const events = new Map<string, NewEvent[]>();
    for (const { request, lines, plan } of go) {
      const country = request.address.country;
      const priceOf = new Map(lines.map((l) => [l.item_id, l.unit_price]));
      const orderEvents: NewEvent[] = [];
      for (const planned of plan.shipments) {
        const shipmentId = uuidv7();
        const warehouse = snapshot.warehouses.find((w) => w.warehouse_id === planned.warehouse_id);
        const carrier = chooseCarrier(warehouse?.carriers ?? [], country, CARRIER_COVERAGE);
        shipments.push({ id: shipmentId, orderId: request.orderId, warehouseId: planned.warehouse_id, carrier });
        const shipped = planned.items.map((i) => ({ ...i, unit_price: priceOf.get(i.item_id) ?? 0 }));
        for (const i of shipped) items.push({ shipmentId, orderId: request.orderId, warehouseId: planned.warehouse_id, ...i });
        const score = plan.scores.find((s) => s.warehouse_id === planned.warehouse_id);
        orderEvents.push({
          type: OrderEventType.shipmentCreated,
          payload: {
            shipment_id: shipmentId,
            warehouse_id: planned.warehouse_id,
            carrier,
            destination_country: country,
            items: shipped,
            routing: {
              reason: request.reason,
              score: score?.score ?? null,
              distance_km: score === undefined ? null : Math.round(score.distance_km),
            },
          },
        });
      }
      const cut = request.lines
        .map((l) => ({
          item_id: l.item_id,
          sku: l.sku,
          quantity: l.quantity - (lines.find((f) => f.item_id === l.item_id)?.quantity ?? 0),
        }))
        .filter((c) => c.quantity > 0);
      if (cut.length > 0) {
        for (const c of cut) cancelled.push({ orderId: request.orderId, ...c });
        orderEvents.push({
          type: OrderEventType.itemCancelled,
          payload: { items: cut, reason: 'out_of_stock_after_short_pick' },
        });
      }
      events.set(request.orderId, orderEvents);
    }

    if (shipments.length > 0) {
      await tx.query(
        `INSERT INTO shipments (shipment_id, order_id, warehouse_id, requested_carrier, status)
         SELECT s, o, w, c, 'created' FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) AS t(s, o, w, c)`,
        [
          shipments.map((s) => s.id),
          shipments.map((s) => s.orderId),
          shipments.map((s) => s.warehouseId),
          shipments.map((s) => s.carrier),
        ],
      );
      await tx.query(
        `INSERT INTO shipment_items (shipment_id, item_id, sku, quantity, unit_price)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::bigint[])`,
        [
          items.map((i) => i.shipmentId),
          items.map((i) => i.item_id),
          items.map((i) => i.sku),
          items.map((i) => i.quantity),
          items.map((i) => i.unit_price),
        ],
      );
      await tx.query(
        `INSERT INTO reservations (reservation_id, order_id, item_id, warehouse_id, sku, quantity, shipment_id)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int[], $7::uuid[])`,
        [
          items.map(() => uuidv7()),
          items.map((i) => i.orderId),
          items.map((i) => i.item_id),
          items.map((i) => i.warehouseId),
          items.map((i) => i.sku),
          items.map((i) => i.quantity),
          items.map((i) => i.shipmentId),
        ],
      );
    }
    await tx.query(
      `UPDATE order_items SET status = 'allocated' WHERE order_id = ANY($1::uuid[]) AND item_id = ANY($2::uuid[]) AND status IN ('pending', 'reserved')`,
      [goIds, go.flatMap((p) => p.lines.map((l) => l.item_id))],
    );
    if (cancelled.length > 0) {
      await tx.query(
        `UPDATE order_items i SET quantity_cancelled = i.quantity_cancelled + c.quantity
           FROM unnest($1::uuid[], $2::uuid[], $3::int[]) AS c(order_id, item_id, quantity)
          WHERE i.order_id = c.order_id AND i.item_id = c.item_id`,
        [cancelled.map((c) => c.orderId), cancelled.map((c) => c.item_id), cancelled.map((c) => c.quantity)],
      );
    }

    const statuses = await currentFulfillmentStatuses(tx, goIds);
    const appends = go.map((p) => {
      const status = statuses.get(p.request.orderId);
      return {
        orderId: p.request.orderId,
        events: (events.get(p.request.orderId) ?? []).map((e) => withOrderStatus(e, status)),
        ...(status === undefined ? {} : { status }),
      };
    });
    const from = [...holds.values()].flatMap((byPair) =>
      [...byPair].map(([pair, quantity]) => {
        const [warehouse_id, sku] = splitPair(pair);
        return { warehouse_id, sku, quantity };
      }),
    );
    const to = go.flatMap((p) =>
      p.plan.shipments.flatMap((s) => s.items.map((i) => ({ warehouse_id: s.warehouse_id, sku: i.sku, quantity: i.quantity }))),
    );
    // Routed if the last statement takes the stock; if not, it throws and nothing of this is kept.
    for (const p of go) result.set(p.request.orderId, { kind: 'routed' });
    return {
      appends,
      last: async (last) => {
        if (!(await moveReserved(last, from, to))) throw new StalePlan();
      },
      result,
    };
  }
}

/** A request for the lines of an order no shipment holds, from the stock the order holds and what is free. */
function wholeOrder(
  orderId: string,
  messageId: string,
  order: OrderToRoute,
  allowedStatuses: readonly string[],
  reason: string,
): RoutingRequest {
  return {
    orderId,
    messageId,
    lines: order.lines,
    useOwnHolds: true,
    excludeWarehouses: [],
    cancelWhatNobodyHas: false,
    address: order.address,
    allowedStatuses,
    reason,
  };
}

/** How reserved changes per `warehouse|sku` when an order's holds give way to its plan. */
function netMoves(holds: ReadonlyMap<string, number>, plan: Plan): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [pair, q] of holds) delta.set(pair, (delta.get(pair) ?? 0) - q);
  for (const s of plan.shipments)
    for (const i of s.items)
      delta.set(pairKey(s.warehouse_id, i.sku), (delta.get(pairKey(s.warehouse_id, i.sku)) ?? 0) + i.quantity);
  return delta;
}

function unitsOf(shipment: PlannedShipment): number {
  return shipment.items.reduce((sum, i) => sum + i.quantity, 0);
}

function copyAvailable(snapshot: InventorySnapshotData): Map<string, Map<string, number>> {
  return new Map([...snapshot.available].map(([w, bySku]) => [w, new Map(bySku)]));
}

/** A planned move taken from (or, negative, given back to) a working copy of the free stock. */
function takeFrom(available: Map<string, Map<string, number>>, pair: string, delta: number): void {
  const [warehouseId, sku] = splitPair(pair);
  let bySku = available.get(warehouseId);
  if (bySku === undefined) available.set(warehouseId, (bySku = new Map()));
  bySku.set(sku, (bySku.get(sku) ?? 0) - delta);
}

/** Live stock no longer supports the plan: the transaction rolls back and the order is planned again. */
class StalePlan extends Error {
  constructor() {
    super('live stock no longer supports the routing plan');
    this.name = 'StalePlan';
  }
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
