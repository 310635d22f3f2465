import type { Knex } from 'knex';

/**
 * The query service's read table: one denormalized document per order (contract §6), with the columns
 * its listings sort and filter on. Written only by the projector (and the replay tool), read only by
 * the query service; never joined with write tables at request time.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE order_view (
      order_id     uuid PRIMARY KEY,
      version      integer NOT NULL,
      status       text NOT NULL,
      customer_id  text NOT NULL,
      created_at   timestamptz NOT NULL,
      updated_at   timestamptz NOT NULL,
      doc          jsonb NOT NULL
    );
    -- Customer history and the operational listing, newest first, keyset-paginated on (created_at, order_id).
    CREATE INDEX order_view_customer_idx ON order_view (customer_id, created_at DESC, order_id DESC);
    CREATE INDEX order_view_status_idx ON order_view (status, created_at DESC, order_id DESC);
    CREATE INDEX order_view_created_idx ON order_view (created_at DESC, order_id DESC);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS order_view');
}
