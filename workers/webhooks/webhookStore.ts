import type { Pool } from '../../platform/db.js';
import type { EventMetadata } from '../../platform/eventEnvelope.js';
import { uuidv7 } from '../../platform/ids.js';

/** The webhook worker's SQL (tables of migration 0013). */

export interface ActiveSubscription {
  readonly webhook_id: string;
  readonly channel: string | null;
  readonly events: string[];
  readonly created_at: Date;
}

export interface NewDelivery {
  readonly webhookId: string;
  readonly eventId: string;
  readonly orderId: string;
  readonly eventSeq: number;
  readonly type: string;
  readonly body: string;
}

export interface LeasedDelivery {
  readonly delivery_id: string;
  readonly webhook_id: string;
  readonly event_id: string;
  readonly order_id: string;
  readonly type: string;
  readonly body: string;
  readonly attempts: number;
  readonly url: string;
  readonly secret: string;
  readonly previous_secret: string | null;
  readonly failing_since: Date | null;
  /** The event's metadata (its correlation and trace), which the delivery carries on as headers. */
  readonly metadata: EventMetadata | null;
}

export async function activeSubscriptions(pool: Pool): Promise<ActiveSubscription[]> {
  const { rows } = await pool.query<ActiveSubscription>(
    `SELECT webhook_id, channel, events, created_at FROM webhook_subscriptions WHERE status = 'active'`,
  );
  return rows;
}

export async function channelsOf(pool: Pool, orderIds: readonly string[]): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ order_id: string; channel: string }>(
    'SELECT order_id, channel FROM orders WHERE order_id = ANY($1::uuid[])',
    [orderIds],
  );
  return new Map(rows.map((r) => [r.order_id, r.channel]));
}

/** Records deliveries, once per (subscription, event): a redelivered record adds nothing. One statement. */
export async function recordDeliveries(pool: Pool, deliveries: readonly NewDelivery[]): Promise<number> {
  if (deliveries.length === 0) return 0;
  const result = await pool.query(
    `INSERT INTO webhook_deliveries (delivery_id, webhook_id, event_id, order_id, event_seq, type, body)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::int[], $6::text[], $7::text[])
     ON CONFLICT (webhook_id, event_id) DO NOTHING`,
    [
      deliveries.map(() => uuidv7()),
      deliveries.map((d) => d.webhookId),
      deliveries.map((d) => d.eventId),
      deliveries.map((d) => d.orderId),
      deliveries.map((d) => d.eventSeq),
      deliveries.map((d) => d.type),
      deliveries.map((d) => d.body),
    ],
  );
  return result.rowCount ?? 0;
}

/**
 * Takes up to `limit` due deliveries for `leaseMs`: of each (subscription, order) only the earliest
 * pending one (so one order's events reach a subscriber in order), of each active subscription at most
 * `perSubscription` in flight at once (a slow receiver holds only its own slots). The conditions are on
 * the updated row itself, so two workers leasing at once never take the same delivery; rows another
 * transaction has locked are left for the next lease.
 */
export async function leaseDueDeliveries(
  pool: Pool,
  limit: number,
  perSubscription: number,
  leaseMs: number,
): Promise<LeasedDelivery[]> {
  const { rows } = await pool.query<LeasedDelivery>(
    `WITH heads AS (
       SELECT DISTINCT ON (d.webhook_id, d.order_id) d.delivery_id, d.webhook_id, d.next_attempt_at, d.leased_until
         FROM webhook_deliveries d
        WHERE d.status = 'pending'
        ORDER BY d.webhook_id, d.order_id, d.event_seq, d.delivery_id
     ), busy AS (
       SELECT webhook_id, count(*) AS n FROM heads WHERE leased_until > now() GROUP BY webhook_id
     ), ready AS (
       SELECT h.delivery_id, h.webhook_id,
              row_number() OVER (PARTITION BY h.webhook_id ORDER BY h.next_attempt_at, h.delivery_id) AS n
         FROM heads h
         JOIN webhook_subscriptions s ON s.webhook_id = h.webhook_id AND s.status = 'active'
        WHERE h.next_attempt_at <= now() AND (h.leased_until IS NULL OR h.leased_until <= now())
     ), chosen AS (
       SELECT r.delivery_id FROM ready r LEFT JOIN busy b ON b.webhook_id = r.webhook_id
        WHERE r.n <= $2::int - coalesce(b.n, 0)
        ORDER BY r.n
        LIMIT $1
     ), locked AS (
       -- Rows another transaction holds (a subscription's DELETE abandoning its deliveries) are skipped,
       -- never waited for: two multi-row updates locking in different orders would deadlock.
       SELECT d.delivery_id FROM webhook_deliveries d JOIN chosen c ON c.delivery_id = d.delivery_id
          FOR UPDATE OF d SKIP LOCKED
     )
     UPDATE webhook_deliveries d
        SET leased_until = now() + $3::int * interval '1 millisecond'
       FROM locked c, webhook_subscriptions s
      WHERE d.delivery_id = c.delivery_id AND s.webhook_id = d.webhook_id
        AND d.status = 'pending' AND d.next_attempt_at <= now() AND (d.leased_until IS NULL OR d.leased_until <= now())
     RETURNING d.delivery_id, d.webhook_id, d.event_id, d.order_id, d.type, d.body, d.attempts, s.url, s.secret,
               CASE WHEN s.previous_secret_expires_at > now() THEN s.previous_secret END AS previous_secret,
               s.failing_since,
               (SELECT e.metadata FROM order_events e WHERE e.order_id = d.order_id AND e.seq = d.event_seq) AS metadata`,
    [limit, perSubscription, leaseMs],
  );
  return rows;
}

export interface AttemptOutcome {
  readonly deliveryId: string;
  readonly webhookId: string;
  readonly attempt: number;
  readonly durationMs: number;
  readonly status: number | null;
  readonly error: string | null;
}

/** A 2xx: the delivery is done and its subscription no longer failing. One transaction. */
export async function recordDelivered(pool: Pool, outcome: AttemptOutcome): Promise<void> {
  await pool.query(
    `WITH attempt AS (
       INSERT INTO webhook_attempts (delivery_id, attempt, duration_ms, status, error) VALUES ($1, $3, $4, $5, NULL)
       ON CONFLICT DO NOTHING
     ), delivered AS (
       UPDATE webhook_deliveries SET status = 'delivered', attempts = $3, delivered_at = now(), leased_until = NULL,
              last_status = $5, last_error = NULL
        WHERE delivery_id = $1 AND status = 'pending'
     )
     UPDATE webhook_subscriptions SET failing_since = NULL, updated_at = now() WHERE webhook_id = $2 AND failing_since IS NOT NULL`,
    [outcome.deliveryId, outcome.webhookId, outcome.attempt, outcome.durationMs, outcome.status],
  );
}

/** A failure to be tried again at `retryAt`; the subscription failing since `failingSince` (kept if earlier). */
export async function recordRetry(pool: Pool, outcome: AttemptOutcome, retryAt: Date, failingSince: Date): Promise<void> {
  await pool.query(
    `WITH attempt AS (
       INSERT INTO webhook_attempts (delivery_id, attempt, duration_ms, status, error) VALUES ($1, $3, $4, $5, $6)
       ON CONFLICT DO NOTHING
     ), retried AS (
       UPDATE webhook_deliveries SET attempts = $3, next_attempt_at = $7, leased_until = NULL, last_status = $5, last_error = $6
        WHERE delivery_id = $1 AND status = 'pending'
     )
     UPDATE webhook_subscriptions SET failing_since = least(coalesce(failing_since, $8), $8), updated_at = now()
      WHERE webhook_id = $2`,
    [
      outcome.deliveryId,
      outcome.webhookId,
      outcome.attempt,
      outcome.durationMs,
      outcome.status,
      outcome.error,
      retryAt,
      failingSince,
    ],
  );
}

/** The subscription has failed for too long: disabled, its lease on this delivery let go (it stays pending). */
export async function recordDisabled(pool: Pool, outcome: AttemptOutcome): Promise<void> {
  await pool.query(
    `WITH attempt AS (
       INSERT INTO webhook_attempts (delivery_id, attempt, duration_ms, status, error) VALUES ($1, $3, $4, $5, $6)
       ON CONFLICT DO NOTHING
     ), released AS (
       UPDATE webhook_deliveries SET attempts = $3, leased_until = NULL, last_status = $5, last_error = $6
        WHERE delivery_id = $1 AND status = 'pending'
     )
     UPDATE webhook_subscriptions SET status = 'disabled', disabled_at = now(), updated_at = now()
      WHERE webhook_id = $2 AND status = 'active'`,
    [outcome.deliveryId, outcome.webhookId, outcome.attempt, outcome.durationMs, outcome.status, outcome.error],
  );
}

/** When the next pending delivery of an active subscription falls due (undefined: none pending). */
export async function nextDueInMs(pool: Pool): Promise<number | undefined> {
  const { rows } = await pool.query<{ ms: number | null }>(
    `SELECT (extract(epoch FROM min(greatest(d.next_attempt_at, coalesce(d.leased_until, d.next_attempt_at))) - now()) * 1000)::int AS ms
       FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.webhook_id = d.webhook_id AND s.status = 'active'
      WHERE d.status = 'pending'`,
  );
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? undefined : Math.max(0, ms);
}
