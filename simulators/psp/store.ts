import type { Pool, Queryable } from '../../platform/db.js';
import { ensureSandboxSchema } from '../../platform/sandboxSchema.js';

/**
 * The PSP sandbox's own ledger, in its own schema: authorizations, captures, refunds, and the responses
 * it gave per Idempotency-Key. Created at start-up by the simulator itself, as a partner's storage
 * would be: our migrations do not know it.
 */
export async function ensurePspSchema(pool: Pool, schema: string): Promise<void> {
  await ensureSandboxSchema(
    pool,
    schema,
    `
      CREATE TABLE IF NOT EXISTS "${schema}".authorizations (
        authorization_id  uuid PRIMARY KEY,
        reference         text NOT NULL,
        token             text NOT NULL,
        amount            bigint NOT NULL,
        currency          char(3) NOT NULL,
        status            text NOT NULL,
        amount_captured   bigint NOT NULL DEFAULT 0,
        amount_refunded   bigint NOT NULL DEFAULT 0,
        risk_level        text NOT NULL,
        created_at        timestamptz NOT NULL DEFAULT now(),
        updated_at        timestamptz NOT NULL DEFAULT now(),
        CHECK (amount_captured <= amount),
        CHECK (amount_refunded <= amount_captured)
      );
      CREATE INDEX IF NOT EXISTS authorizations_reference_idx ON "${schema}".authorizations (reference);
      CREATE TABLE IF NOT EXISTS "${schema}".captures (
        capture_id        uuid PRIMARY KEY,
        authorization_id  uuid NOT NULL REFERENCES "${schema}".authorizations,
        amount            bigint NOT NULL CHECK (amount > 0),
        amount_refunded   bigint NOT NULL DEFAULT 0,
        created_at        timestamptz NOT NULL DEFAULT now(),
        CHECK (amount_refunded <= amount)
      );
      CREATE TABLE IF NOT EXISTS "${schema}".refunds (
        refund_id   uuid PRIMARY KEY,
        capture_id  uuid NOT NULL REFERENCES "${schema}".captures,
        amount      bigint NOT NULL CHECK (amount > 0),
        created_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE IF NOT EXISTS "${schema}".idempotency (
        idempotency_key  text PRIMARY KEY,
        operation        text NOT NULL,
        fingerprint      text NOT NULL,
        status           integer NOT NULL,
        body             jsonb NOT NULL,
        created_at       timestamptz NOT NULL DEFAULT now()
      );
    `,
  );
}

export interface StoredAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** The answer already given for this key, if any (and whether the request matched the first one). */
export async function storedAnswer(
  db: Queryable,
  key: string,
  fingerprint: string,
): Promise<{ answer: StoredAnswer; sameRequest: boolean } | undefined> {
  const result = await db.query<{ status: number; body: Record<string, unknown>; fingerprint: string }>(
    'SELECT status, body, fingerprint FROM idempotency WHERE idempotency_key = $1',
    [key],
  );
  const row = result.rows[0];
  return row ? { answer: { status: row.status, body: row.body }, sameRequest: row.fingerprint === fingerprint } : undefined;
}

export async function storeAnswer(
  db: Queryable,
  key: string,
  operation: string,
  fingerprint: string,
  answer: StoredAnswer,
): Promise<void> {
  await db.query('INSERT INTO idempotency (idempotency_key, operation, fingerprint, status, body) VALUES ($1, $2, $3, $4, $5)', [
    key,
    operation,
    fingerprint,
    answer.status,
    JSON.stringify(answer.body),
  ]);
}

/** An authorization to create with the answer that announces it. */
export interface NewAuthorization {
  readonly authorization_id: string;
  readonly reference: string;
  readonly token: string;
  readonly amount: number;
  readonly currency: string;
  readonly risk_level: string;
}

/**
 * An authorization request answered once per Idempotency-Key in one statement (no transaction, no
 * advisory lock): the key's answer is stored, and the authorization created, only if the key has no
 * answer yet; otherwise the stored answer comes back. A request racing another with the same key
 * waits for it on the key's unique index and then reads its answer (the one case of a second
 * statement: a statement does not see rows committed after it started).
 */
export async function authorizeOnce(
  db: Queryable,
  key: string,
  fingerprint: string,
  fresh: StoredAnswer,
  authorization: NewAuthorization | undefined,
): Promise<{ answer: StoredAnswer; sameRequest: boolean; replayed: boolean } | undefined> {
  type Answered = { fresh: boolean; status: number; body: Record<string, unknown>; fingerprint: string };
  const result = await db.query<Answered>(
    `WITH claimed AS (
       INSERT INTO idempotency (idempotency_key, operation, fingerprint, status, body)
       VALUES ($1, 'authorize', $2, $3, $4)
       ON CONFLICT (idempotency_key) DO NOTHING
       RETURNING idempotency_key
     ), authorized AS (
       INSERT INTO authorizations (authorization_id, reference, token, amount, currency, status, risk_level)
       SELECT $5::uuid, $6, $7, $8, $9, 'authorized', $10 FROM claimed WHERE $5::uuid IS NOT NULL
     )
     SELECT true AS fresh, $3::int AS status, $4::jsonb AS body, $2::text AS fingerprint FROM claimed
     UNION ALL
     SELECT false, status, body, fingerprint FROM idempotency
      WHERE idempotency_key = $1 AND NOT EXISTS (SELECT 1 FROM claimed)`,
    [
      key,
      fingerprint,
      fresh.status,
      JSON.stringify(fresh.body),
      authorization?.authorization_id ?? null,
      authorization?.reference ?? null,
      authorization?.token ?? null,
      authorization?.amount ?? null,
      authorization?.currency ?? null,
      authorization?.risk_level ?? null,
    ],
  );
  const row =
    result.rows[0] ??
    (
      await db.query<Answered>('SELECT false AS fresh, status, body, fingerprint FROM idempotency WHERE idempotency_key = $1', [
        key,
      ])
    ).rows[0];
  if (row === undefined) return undefined;
  return { answer: { status: row.status, body: row.body }, sameRequest: row.fingerprint === fingerprint, replayed: !row.fresh };
}
