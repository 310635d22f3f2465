import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from './db.js';
import { isApiChannel, isScope, type ApiChannel, type Principal, type RateLimit, type ScopeName } from './access.js';
import { uuidv7 } from './ids.js';

/**
 * API keys at rest (contract §8). A key is `oms_` and 32 random bytes (base64url): 256 bits of entropy,
 * so its SHA-256 is all that is stored (no salt or slow hash is needed against guessing a random
 * 256-bit value, and the hot path pays one hash). The key is returned once, by createApiKey.
 */
export const KEY_PREFIX = 'oms_';

export interface NewApiKey {
  readonly name: string;
  readonly channel: ApiChannel | null;
  readonly scopes: readonly ScopeName[];
  readonly rateLimit?: RateLimit;
  /** A known key (OMS_BOOTSTRAP_ADMIN_KEY, a test's or benchmark's); a random one otherwise. */
  readonly key?: string;
}

/** A key as listings show it: everything but the secret. */
export interface ApiKeyListing {
  readonly key_id: string;
  readonly name: string;
  readonly channel: ApiChannel | null;
  readonly scopes: readonly ScopeName[];
  readonly key_prefix: string;
  readonly rate_limit: { per_second: number; burst: number } | null;
  readonly created_at: string;
  readonly revoked_at: string | null;
}

/** A created key: its listing and, this once, the key itself. */
export interface CreatedApiKey extends ApiKeyListing {
  readonly key: string;
}

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

interface ApiKeyRow {
  key_id: string;
  name: string;
  channel: string | null;
  scopes: string[];
  key_prefix: string;
  rate_limit_per_second: number | null;
  rate_limit_burst: number | null;
  created_at: Date;
  revoked_at: Date | null;
}

const COLUMNS = 'key_id, name, channel, scopes, key_prefix, rate_limit_per_second, rate_limit_burst, created_at, revoked_at';

function listingOf(row: ApiKeyRow): ApiKeyListing {
  return {
    key_id: row.key_id,
    name: row.name,
    channel: isApiChannel(row.channel) ? row.channel : null,
    scopes: row.scopes.filter(isScope),
    key_prefix: row.key_prefix,
    rate_limit:
      row.rate_limit_per_second === null || row.rate_limit_burst === null
        ? null
        : { per_second: row.rate_limit_per_second, burst: row.rate_limit_burst },
    created_at: row.created_at.toISOString(),
    revoked_at: row.revoked_at === null ? null : row.revoked_at.toISOString(),
  };
}

export function principalOfListing(listing: ApiKeyListing): Principal {
  return {
    keyId: listing.key_id,
    name: listing.name,
    channel: listing.channel,
    scopes: listing.scopes,
    rateLimit:
      listing.rate_limit === null ? undefined : { perSecond: listing.rate_limit.per_second, burst: listing.rate_limit.burst },
  };
}

export async function createApiKey(db: Queryable, input: NewApiKey): Promise<CreatedApiKey> {
  const key = input.key ?? generateApiKey();
  const result = await db.query<ApiKeyRow>(
    `INSERT INTO api_keys (key_id, name, channel, scopes, key_hash, key_prefix, rate_limit_per_second, rate_limit_burst)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     RETURNING ${COLUMNS}`,
    [
      uuidv7(),
      input.name,
      input.channel,
      [...new Set(input.scopes)],
      hashApiKey(key),
      key.slice(0, KEY_PREFIX.length + 6),
      input.rateLimit?.perSecond ?? null,
      input.rateLimit?.burst ?? null,
    ],
  );
  const row = result.rows[0];
  if (row === undefined) throw new Error('api key insert returned no row');
  return { ...listingOf(row), key };
}

/** The active (not revoked) key with this secret, if any: the authentication lookup. */
export async function findActiveApiKey(db: Queryable, key: string): Promise<Principal | undefined> {
  const result = await db.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, [
    hashApiKey(key),
  ]);
  const row = result.rows[0];
  return row === undefined ? undefined : principalOfListing(listingOf(row));
}

export async function listApiKeys(db: Queryable): Promise<ApiKeyListing[]> {
  const result = await db.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, key_id`);
  return result.rows.map(listingOf);
}

/** Revokes a key; answers its listing (revoked at its first revocation), or undefined for no such key. */
export async function revokeApiKey(db: Queryable, keyId: string): Promise<ApiKeyListing | undefined> {
  const result = await db.query<ApiKeyRow>(
    `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = $1 RETURNING ${COLUMNS}`,
    [keyId],
  );
  const row = result.rows[0];
  return row === undefined ? undefined : listingOf(row);
}

/** Whether any key was ever created (`npm start` creates the demo keys on an empty table only). */
export async function hasApiKeys(db: Queryable): Promise<boolean> {
  const result = await db.query('SELECT 1 FROM api_keys LIMIT 1');
  return (result.rowCount ?? 0) > 0;
}

/** A known key (OMS_BOOTSTRAP_ADMIN_KEY) present and active; created with these settings if it is not there. */
export async function ensureKnownApiKey(db: Queryable, input: NewApiKey & { key: string }): Promise<'created' | 'present'> {
  const existing = await db.query('SELECT 1 FROM api_keys WHERE key_hash = $1', [hashApiKey(input.key)]);
  if ((existing.rowCount ?? 0) > 0) return 'present';
  await createApiKey(db, input);
  return 'created';
}
