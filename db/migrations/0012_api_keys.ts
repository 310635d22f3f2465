import type { Knex } from 'knex';

/**
 * API keys (contract §8): one row per key of a client, with its name, optional channel and scopes.
 * The key itself is never stored: `key_hash` is the SHA-256 of the key, which is 32 random bytes, so a
 * plain hash cannot be brute-forced (a slow password hash would buy nothing and cost the hot path).
 * `key_prefix` is the key's first characters, to tell keys apart in listings. A revoked key keeps its
 * row (revoked_at) so listings show what happened. Idempotency keys are already scoped by
 * `idempotency_keys.scope` (its primary key), which now holds the client's key id.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS api_keys (
      key_id                uuid PRIMARY KEY,
      name                  text NOT NULL,
      channel               text CHECK (channel IN ('web', 'mobile', 'pos', 'marketplace')),
      scopes                text[] NOT NULL,
      key_hash              text NOT NULL UNIQUE,
      key_prefix            text NOT NULL,
      rate_limit_per_second integer CHECK (rate_limit_per_second > 0),
      rate_limit_burst      integer CHECK (rate_limit_burst > 0),
      created_at            timestamptz NOT NULL DEFAULT now(),
      revoked_at            timestamptz
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS api_keys');
}
