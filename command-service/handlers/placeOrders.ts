import { OrderEventType } from '../../domain/events.js';
import type { ItemId, OrderId, SagaId } from '../../domain/ids.js';
import { OrderStatus, SagaStatus, type OrderPlaced } from '../../domain/order.js';
import { PlacementStepId } from '../../domain/placementSaga.js';
import { decidePlaceOrder } from '../../domain/placeOrder.js';
import { SagaType } from '../../domain/sagaType.js';
import { mergeLines, type RequestedLine } from '../../domain/pricing.js';
import { withTransaction, type Pool, type PoolClient } from '../../platform/db.js';
import { ORDER_AGGREGATE, type EventMetadata } from '../../platform/eventEnvelope.js';
import { eventLogAndOutbox } from '../../store/eventStore.js';
import {
  answerFromHeldKey,
  HELD_KEY_COLUMNS,
  keyInFlight,
  keyReused,
  takeOverClaim,
  type HeldKey,
  type StoredResponse,
} from '../../platform/idempotency.js';
import { uuidv7, uuidv7Time } from '../../platform/ids.js';
import { Problem, problems } from '../../platform/problem.js';
import { assertStockExists, priceLines, readCatalog } from '../priceFromCatalog.js';
import { problemAnswer, toStored, type CommandResult } from '../runCommand.js';
import type { PlaceOrderBody } from '../schemas/orders.js';

/** An Idempotency-Key as a placement carries it (contract §2). */
export interface PlacementKey {
  readonly key: string;
  readonly scope: string;
  readonly fingerprint: string;
  readonly method: string;
  readonly path: string;
}

/** One POST /api/v1/orders, validated, waiting for its flush. */
export interface PlacementRequest {
  readonly body: PlaceOrderBody;
  readonly key?: PlacementKey;
  /** The request's URL, the `instance` of a problem answer. */
  readonly instance: string;
  /**
   * Where `external_order_id` must be unique: the order's channel by default; one marketplace's
   * namespace (`marketplace/<id>`) for the orders a marketplace pushes, so two marketplaces may use
   * the same reference.
   */
  readonly referenceScope?: string;
  /** The request's correlation, trace and client: its `order.placed` carries them (platform/traceScope). */
  readonly metadata?: EventMetadata;
}

/** What one placement of a flush came to: an answer (replayed or new), or an error to throw. */
export type PlacementOutcome =
  | { readonly kind: 'answer'; readonly response: StoredResponse; readonly replayed: boolean }
  | { readonly kind: 'error'; readonly error: unknown };

export interface PlaceOrdersOptions {
  readonly sagaLeaseMs: number;
  readonly idempotencyTtlHours: number;
  readonly idempotencyLockTimeoutMs: number;
}

/** A placement decided in memory, to be written by the flush's one INSERT statement. */
interface Placed {
  readonly index: number;
  /** Where its external_order_id is unique (see PlacementRequest.referenceScope). */
  readonly referenceScope: string;
  readonly event: OrderPlaced;
  readonly eventId: string;
  readonly paymentMethod: PlaceOrderBody['payment_method'];
  readonly result: CommandResult;
  readonly metadata: EventMetadata | undefined;
}

/**
 * Places a batch of orders in ONE transaction (group commit), set-based: claims every Idempotency-Key
 * in one statement, reads the carts and the catalog (prices and stock available) once for the batch,
 * decides each order in memory, claims external order ids in one statement, then writes every order,
 * item, saga, `order.placed` event, outbox row and stored idempotent response in one more statement.
 * A refused order (unknown SKU, taken external id, in-flight key…) gets its own answer and is left out
 * of the writes; it never fails the others. The answers are given only after COMMIT, so every 202
 * names a committed order, and a committed order's key holds its answer.
 */
export async function placeOrders(
  pool: Pool,
  requests: readonly PlacementRequest[],
  options: PlaceOrdersOptions,
): Promise<PlacementOutcome[]> {
  return withTransaction(pool, (tx) => placeInTransaction(tx, requests, options));
}

async function placeInTransaction(
  tx: PoolClient,
  requests: readonly PlacementRequest[],
  options: PlaceOrdersOptions,
): Promise<Array<PlacementOutcome>> {
  const outcomes = new Array<PlacementOutcome | undefined>(requests.length);
  // Only a refusal (a 4xx) is an order's own answer; anything else fails the flush, which is retried in parts.
  const refuse = (index: number, error: unknown) => {
    if (!(error instanceof Problem) || error.status >= 500) throw error;
    outcomes[index] = { kind: 'error', error };
  };

  // 1. Idempotency-Keys: claimed inside this transaction, so a key is taken exactly when its order is.
  const answeredByKey = await claimKeys(tx, requests, options, outcomes);
  const live = requests.map((_, i) => i).filter((i) => outcomes[i] === undefined);

  // 2. Carts (locked) and the catalog, each read once for the whole batch.
  const carts = await readCarts(
    tx,
    live.flatMap((i) => (requests[i]?.body.cart_id === undefined ? [] : [requests[i]!.body.cart_id!])),
  );
  const linesOf = new Map<number, { lines: RequestedLine[]; currency: string | undefined }>();
  const cartsTaken = new Set<string>();
  for (const i of live) {
    try {
      linesOf.set(i, linesFor(requests[i]!.body, carts, cartsTaken));
    } catch (error) {
      refuse(i, error);
    }
  }
  const catalog = await readCatalog(
    tx,
    [...linesOf.values()].flatMap((l) => l.lines.map((line) => line.sku)),
  );

  // 3. Each order decided in memory.
  const placed: Placed[] = [];
  for (const [i, { lines, currency }] of linesOf) {
    try {
      const priced = priceLines(catalog, lines, currency);
      assertStockExists(priced);
      const body = requests[i]!.body;
      const orderId = uuidv7() as OrderId;
      const placedAt = uuidv7Time(orderId);
      const event = decidePlaceOrder(
        {
          customer_id: body.customer_id,
          channel: body.channel,
          external_order_id: body.external_order_id ?? null,
          cart_id: body.cart_id ?? null,
          shipping_address: body.shipping_address,
          billing_address: body.billing_address ?? null,
          payment_method: { type: body.payment_method.type },
        },
        {
          orderId,
          sagaId: uuidv7() as SagaId,
          itemIds: priced.lines.map(() => uuidv7() as ItemId),
          placedAt,
          currency: priced.currency,
          lines: priced.lines,
          total: priced.total,
        },
      );
      placed.push({
        index: i,
        referenceScope: requests[i]!.referenceScope ?? event.channel,
        event,
        eventId: uuidv7(placedAt.getTime()),
        paymentMethod: body.payment_method,
        result: acceptedAnswer(event),
        metadata: requests[i]!.metadata,
      });
    } catch (error) {
      refuse(i, error);
    }
  }

  // 4. External order ids, unique per channel: the losers are refused, the winners written.
  const refused = await claimExternalReferences(tx, placed);
  for (const [i, error] of refused) refuse(i, error);
  const written = placed.filter((p) => !refused.has(p.index));

  // 5. One statement writes every order of the batch and stores every keyed answer.
  for (const p of written) outcomes[p.index] = { kind: 'answer', response: toStored(p.result), replayed: false };
  const stored = requests.flatMap((request, i) => {
    const outcome = outcomes[i];
    if (request.key === undefined || outcome === undefined || answeredByKey.has(i)) return [];
    const response = storedAnswer(outcome, request.instance);
    return response === undefined ? [] : [{ key: request.key, response }];
  });
  await writeOrders(tx, written, stored, options.sagaLeaseMs);
  return outcomes.map((o) => o ?? { kind: 'error', error: new Error('placement left undecided') });
}

/**
 * Claims every key of the batch in one statement. An expired key, or a stale in-flight claim of the same
 * request (its process died), is taken over. A key already held answers from what it holds: the stored
 * response (replay), another request (422), or a request still running (409). Returns the indexes so
 * answered (nothing is stored for them).
 */
async function claimKeys(
  tx: PoolClient,
  requests: readonly PlacementRequest[],
  options: PlaceOrdersOptions,
  outcomes: Array<PlacementOutcome | undefined>,
): Promise<Set<number>> {
  const answered = new Set<number>();
  const keyed = requests
    .map((request, index) => ({ key: request.key, index }))
    .filter((k): k is { key: PlacementKey; index: number } => k.key !== undefined)
    // Locks are taken in one order, so two flushes (two replicas) never deadlock.
    .sort((a, b) => (a.key.scope + a.key.key < b.key.scope + b.key.key ? -1 : 1));
  if (keyed.length === 0) return answered;
  const claimed = await tx.query<{ scope: string; idempotency_key: string }>(
    `INSERT INTO idempotency_keys (idempotency_key, scope, fingerprint, method, path, state, expires_at)
     SELECT k, s, f, m, p, 'in_flight', now() + make_interval(hours => $6)
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(k, s, f, m, p)
     ${takeOverClaim('$7')}
     RETURNING scope, idempotency_key`,
    [
      keyed.map((k) => k.key.key),
      keyed.map((k) => k.key.scope),
      keyed.map((k) => k.key.fingerprint),
      keyed.map((k) => k.key.method),
      keyed.map((k) => k.key.path),
      options.idempotencyTtlHours,
      options.idempotencyLockTimeoutMs,
    ],
  );
  const won = new Set(claimed.rows.map((r) => `${r.scope}\n${r.idempotency_key}`));
  const held = keyed.filter((k) => !won.has(`${k.key.scope}\n${k.key.key}`));
  if (held.length === 0) return answered;
  const existing = await tx.query<HeldKey & { scope: string; idempotency_key: string }>(
    `SELECT scope, idempotency_key, ${HELD_KEY_COLUMNS}
       FROM idempotency_keys k JOIN unnest($1::text[], $2::text[]) AS t(s, kk) ON k.scope = t.s AND k.idempotency_key = t.kk`,
    [held.map((k) => k.key.scope), held.map((k) => k.key.key)],
  );
  const rows = new Map(existing.rows.map((r) => [`${r.scope}\n${r.idempotency_key}`, r]));
  for (const { key, index } of held) {
    const row = rows.get(`${key.scope}\n${key.key}`);
    // A key whose holder has not committed yet cannot be read back: it is still in flight.
    const claim = row === undefined ? ({ kind: 'in-flight' } as const) : answerFromHeldKey(row, key.fingerprint);
    answered.add(index);
    outcomes[index] =
      claim.kind === 'replay'
        ? { kind: 'answer', replayed: true, response: claim.response }
        : { kind: 'error', error: claim.kind === 'mismatch' ? keyReused() : keyInFlight() };
  }
  return answered;
}

interface CartRow {
  readonly cart_id: string;
  readonly customer_id: string;
  readonly channel: string;
  readonly currency: string;
  readonly items: RequestedLine[];
  readonly status: string;
  readonly order_id: string | null;
}

async function readCarts(tx: PoolClient, cartIds: readonly string[]): Promise<ReadonlyMap<string, CartRow>> {
  if (cartIds.length === 0) return new Map();
  const result = await tx.query<CartRow>(
    `SELECT cart_id, customer_id, channel, currency, items, status, order_id FROM carts
      WHERE cart_id = ANY($1::uuid[]) ORDER BY cart_id FOR UPDATE`,
    [[...new Set(cartIds)]],
  );
  return new Map(result.rows.map((row) => [row.cart_id, row]));
}

/** An order's lines: its own, or its cart's (which must be open, the customer's and in its currency). */
function linesFor(
  body: PlaceOrderBody,
  carts: ReadonlyMap<string, CartRow>,
  cartsTaken: Set<string>,
): { lines: RequestedLine[]; currency: string | undefined } {
  if ((body.cart_id === undefined) === (body.items === undefined)) {
    throw problems.validation([{ pointer: '/items', detail: 'give exactly one of cart_id and items' }]);
  }
  if (body.cart_id === undefined) return { lines: mergeLines(body.items ?? []), currency: body.currency };
  const cartId = body.cart_id;
  const cart = carts.get(cartId);
  // Another channel's cart is no cart of this order's channel (its key's, contract §8): it does not leak.
  if (cart === undefined || cart.channel !== body.channel) {
    throw new Problem(422, 'cart-not-found', 'Cart not found', `No cart ${cartId} in channel ${body.channel}.`, {
      errors: [{ pointer: '/cart_id', detail: 'no such cart' }],
    });
  }
  if (cart.status !== 'open' || cartsTaken.has(cartId)) {
    throw new Problem(
      409,
      'cart-already-ordered',
      'Cart already ordered',
      `Cart ${cartId} was already turned into order ${cart.order_id}.`,
      { extensions: { order_id: cart.order_id } },
    );
  }
  if (cart.customer_id !== body.customer_id) {
    throw new Problem(
      422,
      'cart-customer-mismatch',
      'Cart belongs to another customer',
      `Cart ${cartId} is not customer ${body.customer_id}'s.`,
      { errors: [{ pointer: '/customer_id', detail: "does not match the cart's customer" }] },
    );
  }
  if (body.currency !== undefined && body.currency !== cart.currency) {
    throw new Problem(
      422,
      'currency-mismatch',
      'Currency mismatch',
      `Cart ${cartId} is priced in ${cart.currency}, not ${body.currency}.`,
      { errors: [{ pointer: '/currency', detail: "does not match the cart's currency" }] },
    );
  }
  cartsTaken.add(cartId);
  return { lines: cart.items, currency: cart.currency };
}

/**
 * external_order_id is unique per channel (per marketplace for a marketplace's own orders): the second
 * order with the same reference is refused (409).
 */
async function claimExternalReferences(tx: PoolClient, placed: readonly Placed[]): Promise<Map<number, Problem>> {
  const refOf = (p: Placed) => `${p.referenceScope}\n${p.event.external_order_id}`;
  const refs = placed.filter((p) => p.event.external_order_id !== null).sort((a, b) => (refOf(a) < refOf(b) ? -1 : 1));
  const refused = new Map<number, Problem>();
  if (refs.length === 0) return refused;
  const inserted = await tx.query<{ order_id: string }>(
    `INSERT INTO order_external_refs (channel, external_order_id, order_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[])
     ON CONFLICT DO NOTHING RETURNING order_id`,
    [refs.map((p) => p.referenceScope), refs.map((p) => p.event.external_order_id), refs.map((p) => p.event.order_id)],
  );
  const won = new Set(inserted.rows.map((r) => r.order_id));
  const lost = refs.filter((p) => !won.has(p.event.order_id));
  if (lost.length === 0) return refused;
  const existing = await tx.query<{ channel: string; external_order_id: string; order_id: string }>(
    `SELECT r.channel, r.external_order_id, r.order_id FROM order_external_refs r
       JOIN unnest($1::text[], $2::text[]) AS t(c, e) ON r.channel = t.c AND r.external_order_id = t.e`,
    [lost.map((p) => p.referenceScope), lost.map((p) => p.event.external_order_id)],
  );
  const owner = new Map(existing.rows.map((r) => [`${r.channel}\n${r.external_order_id}`, r.order_id]));
  for (const p of lost) {
    const { channel, external_order_id: externalOrderId } = p.event;
    const existingId = owner.get(refOf(p));
    refused.set(
      p.index,
      new Problem(
        409,
        'duplicate-external-order-id',
        'External order id already used',
        `Channel ${channel} already has an order with external_order_id ${externalOrderId}${existingId ? ` (${existingId})` : ''}.`,
        { extensions: { order_id: existingId ?? null } },
      ),
    );
  }
  return refused;
}

/**
 * The batch's writes in one statement: orders, items, the carts they close, sagas, `order.placed` in
 * the event log and the outbox (the envelope as platform/eventStore writes it), and the answers of the
 * keyed requests. next_attempt_at: if no worker drives a saga from its event within the lease, the
 * due poller will.
 */
async function writeOrders(
  tx: PoolClient,
  orders: readonly Placed[],
  answers: ReadonlyArray<{ key: PlacementKey; response: StoredResponse }>,
  sagaLeaseMs: number,
): Promise<void> {
  if (orders.length === 0 && answers.length === 0) return;
  const items = orders.flatMap((p) => p.event.items.map((item, line) => ({ order: p.event, item, line: line + 1 })));
  const carted = orders.filter((p) => p.event.cart_id !== null);
  await tx.query(
    `WITH o AS (
       INSERT INTO orders (order_id, customer_id, channel, external_order_id, cart_id, status, version, total_amount,
                           currency, shipping_address, billing_address, payment_method, created_at, updated_at)
       SELECT id, cu, ch, ext, cart, 'placed', 1, total, cur, ship, bill, pm, at, at
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::bigint[], $7::text[],
                     $8::jsonb[], $9::jsonb[], $10::jsonb[], $11::timestamptz[])
              AS t(id, cu, ch, ext, cart, total, cur, ship, bill, pm, at)
     ), i AS (
       INSERT INTO order_items (item_id, order_id, order_created_at, line_no, sku, quantity, unit_price)
       SELECT * FROM unnest($12::uuid[], $13::uuid[], $14::timestamptz[], $15::int[], $16::text[], $17::int[], $18::bigint[])
     ), c AS (
       UPDATE carts SET status = 'ordered', order_id = t.id, updated_at = now()
         FROM unnest($19::uuid[], $20::uuid[]) AS t(cart, id) WHERE carts.cart_id = t.cart
     ), s AS (
       INSERT INTO sagas (saga_id, order_id, saga_type, current_step, status, created_at, updated_at, next_attempt_at)
       SELECT sid, id, '${SagaType.placement}', $21, $22, at, at, at + make_interval(secs => $23::double precision / 1000)
         FROM unnest($24::uuid[], $1::uuid[], $11::timestamptz[]) AS t(sid, id, at)
     ), e AS (
       SELECT t.event_id, t.order_id, 1 AS seq, $27::text AS type, t.payload, t.at, t.metadata
         FROM unnest($25::uuid[], $1::uuid[], $26::jsonb[], $11::timestamptz[], $34::jsonb[])
              AS t(event_id, order_id, payload, at, metadata)
     ), ${eventLogAndOutbox('e', 'at', '$28')}
     UPDATE idempotency_keys k
        SET state = 'completed', response_status = t.st, response_headers = t.h, response_body = t.b
       FROM unnest($29::text[], $30::text[], $31::int[], $32::jsonb[], $33::jsonb[]) AS t(s, kk, st, h, b)
      WHERE k.scope = t.s AND k.idempotency_key = t.kk`,
    [
      orders.map((p) => p.event.order_id),
      orders.map((p) => p.event.customer_id),
      orders.map((p) => p.event.channel),
      orders.map((p) => p.event.external_order_id),
      orders.map((p) => p.event.cart_id),
      orders.map((p) => p.event.total_amount),
      orders.map((p) => p.event.currency),
      orders.map((p) => JSON.stringify(p.event.shipping_address)),
      orders.map((p) => (p.event.billing_address === null ? null : JSON.stringify(p.event.billing_address))),
      orders.map((p) => JSON.stringify(p.paymentMethod)),
      orders.map((p) => p.event.placed_at),
      items.map((r) => r.item.item_id),
      items.map((r) => r.order.order_id),
      items.map((r) => r.order.placed_at),
      items.map((r) => r.line),
      items.map((r) => r.item.sku),
      items.map((r) => r.item.quantity),
      items.map((r) => r.item.unit_price),
      carted.map((p) => p.event.cart_id),
      carted.map((p) => p.event.order_id),
      PlacementStepId.reserveInventory,
      SagaStatus.running,
      sagaLeaseMs,
      orders.map((p) => p.event.saga_id),
      orders.map((p) => p.eventId),
      orders.map((p) => JSON.stringify(p.event)),
      OrderEventType.orderPlaced,
      ORDER_AGGREGATE,
      answers.map((a) => a.key.scope),
      answers.map((a) => a.key.key),
      answers.map((a) => a.response.status),
      answers.map((a) => JSON.stringify(a.response.headers)),
      answers.map((a) => JSON.stringify(a.response.body ?? null)),
      orders.map((p) => (p.metadata === undefined ? null : JSON.stringify(p.metadata))),
    ],
  );
}

/** The 202 of a placed order (contract §4). */
function acceptedAnswer(event: OrderPlaced): CommandResult {
  return {
    status: 202,
    headers: { Location: `/api/v1/orders/${event.order_id}` },
    body: {
      order_id: event.order_id,
      status: OrderStatus.placed,
      version: 1,
      customer_id: event.customer_id,
      channel: event.channel,
      external_order_id: event.external_order_id,
      total_amount: event.total_amount,
      currency: event.currency,
      items: event.items,
      saga: { saga_id: event.saga_id, status: SagaStatus.running, current_step: PlacementStepId.reserveInventory },
      created_at: event.placed_at,
    },
  };
}

/** What a keyed request's key keeps: its answer, or its refusal (a 4xx); never an unexpected failure. */
function storedAnswer(outcome: PlacementOutcome, instance: string): StoredResponse | undefined {
  if (outcome.kind === 'answer') return outcome.response;
  return outcome.error instanceof Problem ? problemAnswer(outcome.error, instance) : undefined;
}
