import type { Queryable } from '../../platform/db.js';
import { problems } from '../../platform/problem.js';
import { newWebhookSecret, verifyWebhook } from '../../platform/standardWebhooks.js';
import { Problem } from '../../platform/problem.js';
import type { CommandResult } from '../runCommand.js';
import { rotateSecret } from './secretRotation.js';
import type { MarketplaceBody } from '../schemas/marketplaces.js';

/**
 * Marketplaces that push their orders as signed webhooks (contract §8): registered by an admin, who
 * hears the signing secret once; a rotation answers the new secret and keeps the previous one valid for
 * 24 h, so a marketplace can switch without losing an order.
 */

interface MarketplaceRow {
  marketplace_id: string;
  name: string;
  created_at: Date;
  updated_at: Date;
  inserted: boolean;
}

const view = (row: MarketplaceRow) => ({
  marketplace_id: row.marketplace_id,
  name: row.name,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});

/** PUT /api/v1/admin/marketplaces/{id}: 201 with the signing secret when new; 200 (renamed, no secret) after. */
export async function upsertMarketplace(tx: Queryable, marketplaceId: string, body: MarketplaceBody): Promise<CommandResult> {
  const secret = newWebhookSecret();
  const { rows } = await tx.query<MarketplaceRow>(
    `INSERT INTO marketplaces (marketplace_id, name, secret) VALUES ($1, $2, $3)
     ON CONFLICT (marketplace_id) DO UPDATE SET name = EXCLUDED.name, updated_at = now()
     RETURNING marketplace_id, name, created_at, updated_at, (xmax = 0) AS inserted`,
    [marketplaceId, body.name, secret],
  );
  const row = rows[0]!;
  return row.inserted
    ? { status: 201, headers: { Location: `/api/v1/admin/marketplaces/${marketplaceId}` }, body: { ...view(row), secret } }
    : { status: 200, body: view(row) };
}

/** POST /api/v1/admin/marketplaces/{id}/secrets: a new secret; the old one verifies for 24 h more. */
export async function rotateMarketplaceSecret(tx: Queryable, marketplaceId: string): Promise<CommandResult> {
  const rotated = await rotateSecret(tx, 'marketplaces', marketplaceId);
  if (rotated === undefined) throw problems.notFound('Marketplace', marketplaceId);
  return {
    status: 201,
    body: { marketplace_id: marketplaceId, secret: rotated.secret, previous_secret_expires_at: rotated.previousSecretExpiresAt },
  };
}

/**
 * Checks a marketplace's webhook: signed with one of its valid secrets, within 5 minutes of now. An
 * unknown marketplace is refused like a bad signature (401): whether it exists is not for the caller.
 * Answers the webhook id, the Idempotency-Key of the order it carries.
 */
export async function verifyMarketplaceWebhook(
  db: Queryable,
  marketplaceId: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  rawBody: string,
): Promise<string> {
  const { rows } = await db.query<{ secret: string; previous_secret: string | null }>(
    `SELECT secret, CASE WHEN previous_secret_expires_at > now() THEN previous_secret END AS previous_secret
       FROM marketplaces WHERE marketplace_id = $1`,
    [marketplaceId],
  );
  const row = rows[0];
  const secrets = row === undefined ? [] : [row.secret, ...(row.previous_secret === null ? [] : [row.previous_secret])];
  const verification = verifyWebhook(secrets, headers, rawBody, Math.floor(Date.now() / 1000));
  if (!verification.ok)
    throw new Problem(
      401,
      'invalid-webhook-signature',
      'Webhook signature not valid',
      `The webhook was refused: ${verification.reason}.`,
    );
  return verification.id;
}
