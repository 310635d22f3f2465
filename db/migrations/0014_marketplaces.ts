import type { Knex } from 'knex';

/**
 * Marketplaces that push orders as signed webhooks (contract §8). Each has its signing secret and,
 * for 24 h after a rotation, the previous one. A webhook's `webhook-id` is its Idempotency-Key (scoped
 * to the marketplace), so the same id again is answered as the first time and places nothing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE marketplaces (
      marketplace_id              text PRIMARY KEY,
      name                        text NOT NULL,
      secret                      text NOT NULL,
      previous_secret             text,
      previous_secret_expires_at  timestamptz,
      created_at                  timestamptz NOT NULL DEFAULT now(),
      updated_at                  timestamptz NOT NULL DEFAULT now()
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS marketplaces');
}
