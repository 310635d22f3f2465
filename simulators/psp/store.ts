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
