import type { Queryable } from '../../platform/db.js';
import { newWebhookSecret } from '../../platform/standardWebhooks.js';

/** A rotated secret's predecessor keeps verifying (or being signed with) this long: 24 h (contract §8). */
export const ROTATION_OVERLAP_HOURS = 24;

/** The tables whose rows hold a signing secret and its predecessor, and their key column. */
const SECRET_HOLDERS = Object.freeze({ marketplaces: 'marketplace_id', webhook_subscriptions: 'webhook_id' } as const);

/**
 * Gives a row a new Standard Webhooks secret, keeping the current one as `previous_secret` for 24 h.
 * Answers the new secret and when the previous one expires; undefined when no such row exists.
 */
export async function rotateSecret(
  tx: Queryable,
  table: keyof typeof SECRET_HOLDERS,
  id: string,
): Promise<{ secret: string; previousSecretExpiresAt: string } | undefined> {
  const secret = newWebhookSecret();
  const { rows } = await tx.query<{ previous_secret_expires_at: Date }>(
    `UPDATE ${table}
        SET previous_secret = secret, secret = $2,
            previous_secret_expires_at = now() + $3::int * interval '1 hour', updated_at = now()
      WHERE ${SECRET_HOLDERS[table]} = $1 RETURNING previous_secret_expires_at`,
    [id, secret, ROTATION_OVERLAP_HOURS],
  );
  const row = rows[0];
  return row === undefined ? undefined : { secret, previousSecretExpiresAt: row.previous_secret_expires_at.toISOString() };
}
