import type { Queryable } from '../../platform/db.js';
import { uuidv7 } from '../../platform/ids.js';
import { problems } from '../../platform/problem.js';
import { newWebhookSecret } from '../../platform/standardWebhooks.js';
import type { CommandResult } from '../runCommand.js';
import { rotateSecret } from './secretRotation.js';
import type { DeliveriesQuery, WebhookBody } from '../schemas/webhooks.js';

/**
 * Outbound webhook subscriptions (contract §8). A subscription belongs to the API client that created
 * it and sees only its channel's orders (a back-office client's: every channel). Its secret is shown
 * at creation and at rotation, never again; a rotation keeps the previous secret valid for 24 h, and
 * deliveries meanwhile carry a signature under each.
 */
export interface WebhookOwner {
  /** The API client (its key): the owner of what it creates. */
  readonly keyId: string;
  /** An admin sees and manages every client's subscriptions. */
  readonly seesAll: boolean;
  /** The channel whose orders the client's subscriptions see (null: every channel). */
  readonly channel: string | null;
}

interface SubscriptionRow {
  webhook_id: string;
  client_id: string | null;
  channel: string | null;
  url: string;
  events: string[];
  description: string | null;
  status: string;
  failing_since: Date | null;
  disabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS =
  'webhook_id, client_id, channel, url, events, description, status, failing_since, disabled_at, created_at, updated_at';

function view(row: SubscriptionRow) {
  return {
    webhook_id: row.webhook_id,
    url: row.url,
    events: row.events,
    channel: row.channel,
    description: row.description,
    status: row.status,
    failing_since: row.failing_since?.toISOString() ?? null,
    disabled_at: row.disabled_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** POST /api/v1/webhooks → 201 with the secret, shown this once. */
export async function createWebhook(tx: Queryable, owner: WebhookOwner, body: WebhookBody): Promise<CommandResult> {
  const webhookId = uuidv7();
  const secret = newWebhookSecret();
  const { rows } = await tx.query<SubscriptionRow>(
    `INSERT INTO webhook_subscriptions (webhook_id, client_id, channel, url, events, description, secret)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    [webhookId, owner.keyId, owner.channel, body.url, body.events, body.description ?? null, secret],
  );
  return { status: 201, headers: { Location: `/api/v1/webhooks/${webhookId}` }, body: { ...view(rows[0]!), secret } };
}

/** One of the owner's subscriptions (not a deleted one), or 404: another client's does not exist for it. */
async function ownSubscription(db: Queryable, owner: WebhookOwner, webhookId: string, lock = false): Promise<SubscriptionRow> {
  const { rows } = await db.query<SubscriptionRow>(
    `SELECT ${COLUMNS} FROM webhook_subscriptions
      WHERE webhook_id = $1 AND status <> 'deleted' AND ($2::text IS NULL OR client_id = $2)${lock ? ' FOR UPDATE' : ''}`,
    [webhookId, owner.seesAll ? null : owner.keyId],
  );
  const row = rows[0];
  if (row === undefined) throw problems.notFound('Webhook', webhookId);
  return row;
}

export async function getWebhook(db: Queryable, owner: WebhookOwner, webhookId: string) {
  return view(await ownSubscription(db, owner, webhookId));
}

export async function listWebhooks(db: Queryable, owner: WebhookOwner) {
  const { rows } = await db.query<SubscriptionRow>(
    `SELECT ${COLUMNS} FROM webhook_subscriptions
      WHERE status <> 'deleted' AND ($1::text IS NULL OR client_id = $1) ORDER BY created_at, webhook_id LIMIT 1000`,
    [owner.seesAll ? null : owner.keyId],
  );
  return { webhooks: rows.map(view) };
}

/** DELETE /api/v1/webhooks/{id} → 204: no more deliveries; its history stays listable by an admin. */
export async function deleteWebhook(tx: Queryable, owner: WebhookOwner, webhookId: string): Promise<CommandResult> {
  await ownSubscription(tx, owner, webhookId);
  // Its deliveries first, then the subscription: the order the worker locks them in when it records an
  // attempt (webhookStore), so a delete racing a retry waits instead of deadlocking.
  await tx.query(
    `UPDATE webhook_deliveries SET status = 'abandoned', leased_until = NULL WHERE webhook_id = $1 AND status = 'pending'`,
    [webhookId],
  );
  await tx.query(`UPDATE webhook_subscriptions SET status = 'deleted', updated_at = now() WHERE webhook_id = $1`, [webhookId]);
  return { status: 204, body: undefined };
}

/** POST /api/v1/webhooks/{id}/secrets → 201 with the new secret; the old one stays valid for 24 h. */
export async function rotateWebhookSecret(tx: Queryable, owner: WebhookOwner, webhookId: string): Promise<CommandResult> {
  await ownSubscription(tx, owner, webhookId, true);
  const rotated = await rotateSecret(tx, 'webhook_subscriptions', webhookId);
  if (rotated === undefined) throw problems.notFound('Webhook', webhookId);
  return {
    status: 201,
    body: { webhook_id: webhookId, secret: rotated.secret, previous_secret_expires_at: rotated.previousSecretExpiresAt },
  };
}

/** POST /api/v1/webhooks/{id}/enable → 200: a disabled subscription delivers again, from what is pending. */
export async function enableWebhook(tx: Queryable, owner: WebhookOwner, webhookId: string): Promise<CommandResult> {
  await ownSubscription(tx, owner, webhookId, true);
  const { rows } = await tx.query<SubscriptionRow>(
    `UPDATE webhook_subscriptions SET status = 'active', failing_since = NULL, disabled_at = NULL, updated_at = now()
      WHERE webhook_id = $1 RETURNING ${COLUMNS}`,
    [webhookId],
  );
  await tx.query(`UPDATE webhook_deliveries SET next_attempt_at = now() WHERE webhook_id = $1 AND status = 'pending'`, [
    webhookId,
  ]);
  return { status: 200, body: view(rows[0]!) };
}

interface DeliveryRow {
  delivery_id: string;
  event_id: string;
  order_id: string;
  type: string;
  status: string;
  attempts: number;
  next_attempt_at: Date;
  last_status: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
  attempt_log: Array<{ attempt: number; attempted_at: string; duration_ms: number; status: number | null; error: string | null }>;
}

/** GET /api/v1/webhooks/{id}/deliveries: the latest deliveries, each with its attempts and their outcomes. */
export async function listDeliveries(db: Queryable, owner: WebhookOwner, webhookId: string, query: DeliveriesQuery) {
  await ownSubscription(db, owner, webhookId);
  const { rows } = await db.query<DeliveryRow>(
    `SELECT d.delivery_id, d.event_id, d.order_id, d.type, d.status, d.attempts, d.next_attempt_at, d.last_status,
            d.last_error, d.created_at, d.delivered_at,
            coalesce((SELECT json_agg(json_build_object('attempt', a.attempt, 'attempted_at', a.attempted_at,
                                                        'duration_ms', a.duration_ms, 'status', a.status, 'error', a.error)
                                      ORDER BY a.attempt)
                        FROM webhook_attempts a WHERE a.delivery_id = d.delivery_id), '[]') AS attempt_log
       FROM webhook_deliveries d
      WHERE d.webhook_id = $1 AND ($2::text IS NULL OR d.status = $2)
      ORDER BY d.created_at DESC, d.delivery_id DESC
      LIMIT $3`,
    [webhookId, query.status ?? null, Number(query.limit ?? 100)],
  );
  return {
    deliveries: rows.map((r) => ({
      delivery_id: r.delivery_id,
      event_id: r.event_id,
      order_id: r.order_id,
      type: r.type,
      status: r.status,
      attempts: r.attempts,
      next_attempt_at: r.status === 'pending' ? r.next_attempt_at.toISOString() : null,
      last_status: r.last_status,
      last_error: r.last_error,
      created_at: r.created_at.toISOString(),
      delivered_at: r.delivered_at?.toISOString() ?? null,
      attempt_log: r.attempt_log,
    })),
  };
}
