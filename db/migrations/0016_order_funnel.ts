import type { Knex } from 'knex';

/**
 * The order funnel (issue 15): one row per order with when it reached each step, kept by the funnel
 * consumer (its own Kafka consumer group) and rebuilt by the replay tool, both folding the order's
 * events with domain/funnel. The analytics endpoint groups it by the hour and channel of placement.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE order_funnel (
      order_id      uuid PRIMARY KEY,
      channel       text,
      placed_at     timestamptz,
      confirmed_at  timestamptz,
      rejected_at   timestamptz,
      shipped_at    timestamptz,
      delivered_at  timestamptz,
      cancelled_at  timestamptz,
      updated_at    timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX order_funnel_cohort_idx ON order_funnel (placed_at, channel);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS order_funnel');
}
