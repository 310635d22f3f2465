import { createHash } from 'node:crypto';
import type { Pool, Queryable } from './db.js';
import { Problem, problems } from './problem.js';

/** A response as it is stored for replay. */
export interface StoredResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

export type KeyClaim =
  | { readonly kind: 'claimed' }
  | { readonly kind: 'replay'; readonly response: StoredResponse }
  | { readonly kind: 'in-flight' }
  | { readonly kind: 'mismatch' };

export interface KeyRef {
  readonly key: string;
  /** The client's own space of keys: its API key's id (contract §8). */
  readonly scope: string;
}

export interface ClaimRequest extends KeyRef {
  readonly fingerprint: string;
  readonly method: string;
  readonly path: string;
  readonly ttlHours: number;
  /** An in-flight claim older than this belongs to a request that died; the same request may take it over. */
  readonly lockTimeoutMs: number;
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** An Idempotency-Key header checked (400 naming the header when malformed). */
export function checkIdempotencyKey(key: string | undefined): string | undefined {
  if (key !== undefined && !KEY_PATTERN.test(key)) {
    throw problems.validation([{ header: 'Idempotency-Key', detail: 'must be 1 to 255 visible ASCII characters' }]);
  }
  return key;
}

/** The request's identity: method, path and body with object keys sorted, hashed. */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${path}\n`).update(canonicalJson(body)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (value === undefined) return '';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** A key another request holds, as read back after a claim did not take it. */
export interface HeldKey {
  readonly fingerprint: string;
  readonly state: string;
  readonly response_status: number | null;
  readonly response_headers: Record<string, string> | null;
  readonly response_body: unknown;
}

export const HELD_KEY_COLUMNS = 'fingerprint, state, response_status, response_headers, response_body';

/** What a held key answers a request: its stored response (replay), another request's (422) or one still running (409). */
export function answerFromHeldKey(row: HeldKey, fingerprint: string): Exclude<KeyClaim, { kind: 'claimed' }> {
  if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
  if (row.state === 'in_flight' || row.response_status === null) return { kind: 'in-flight' };
  return {
    kind: 'replay',
    response: { status: row.response_status, headers: row.response_headers ?? {}, body: row.response_body },
  };
}

/**
 * The conflict clause of every key claim: an expired key is taken over, and so is a stale in-flight
 * claim of the same request (its process died) once `lockTimeoutMsParam` has passed.
 */
export function takeOverClaim(lockTimeoutMsParam: string): string {
  return `ON CONFLICT (scope, idempotency_key) DO UPDATE
         SET fingerprint = EXCLUDED.fingerprint, method = EXCLUDED.method, path = EXCLUDED.path,
             state = 'in_flight', response_status = NULL, response_headers = NULL, response_body = NULL,
             locked_at = now(), created_at = now(), expires_at = EXCLUDED.expires_at
         WHERE idempotency_keys.expires_at < now()
            OR (idempotency_keys.state = 'in_flight'
                AND idempotency_keys.fingerprint = EXCLUDED.fingerprint
                AND idempotency_keys.locked_at < now() - make_interval(secs => ${lockTimeoutMsParam}::double precision / 1000))`;
}

/**
 * Claims an Idempotency-Key for one request, in its own short transaction so that a concurrent request
 * with the same key sees it at once (and gets 409) instead of waiting on the first one's transaction.
 * An expired key is taken over; so is a stale in-flight claim for the same request.
 */
export async function claimIdempotencyKey(pool: Pool, request: ClaimRequest): Promise<KeyClaim> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const claimed = await pool.query(
      `INSERT INTO idempotency_keys
         (idempotency_key, scope, fingerprint, method, path, state, expires_at)
       VALUES ($1, $2, $3, $4, $5, 'in_flight', now() + make_interval(hours => $6))
       ${takeOverClaim('$7')}
       RETURNING 1`,
      [request.key, request.scope, request.fingerprint, request.method, request.path, request.ttlHours, request.lockTimeoutMs],
    );
    if (claimed.rowCount === 1) return { kind: 'claimed' };

    const existing = await pool.query<HeldKey>(
      `SELECT ${HELD_KEY_COLUMNS} FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2`,
      [request.scope, request.key],
    );
    const row = existing.rows[0];
    if (row === undefined) continue; // released between the two statements: claim again
    return answerFromHeldKey(row, request.fingerprint);
  }
  return { kind: 'in-flight' };
}

/** Records the response; call inside the transaction that made the request's effects. */
export async function completeIdempotencyKey(db: Queryable, ref: KeyRef, response: StoredResponse): Promise<void> {
  await db.query(
    `UPDATE idempotency_keys
        SET state = 'completed', response_status = $3, response_headers = $4, response_body = $5
      WHERE scope = $1 AND idempotency_key = $2`,
    [ref.scope, ref.key, response.status, JSON.stringify(response.headers), JSON.stringify(response.body ?? null)],
  );
}

/** Gives the key back after a failure that changed nothing and may succeed on retry (a 5xx). */
export async function releaseIdempotencyKey(db: Queryable, ref: KeyRef): Promise<void> {
  await db.query(`DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2 AND state = 'in_flight'`, [
    ref.scope,
    ref.key,
  ]);
}

/** Deletes keys past their expiry; returns how many. */
export async function purgeExpiredIdempotencyKeys(db: Queryable): Promise<number> {
  const result = await db.query(`DELETE FROM idempotency_keys WHERE expires_at < now()`);
  return result.rowCount ?? 0;
}

/** The answer to a key used before with another request. */
export function keyReused(): Problem {
  return new Problem(
    422,
    'idempotency-key-reused',
    'Idempotency-Key reused',
    'This Idempotency-Key was used with a different request; use a new key for a new request.',
  );
}

/** The answer to a key whose first request is still running. */
export function keyInFlight(): Problem {
  return new Problem(
    409,
    'idempotency-key-in-flight',
    'Request in progress',
    'A request with this Idempotency-Key is still being processed; retry later for its result.',
  );
}
