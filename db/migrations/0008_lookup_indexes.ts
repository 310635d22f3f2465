import type { Knex } from 'knex';

/**
 * Indexes for lookups that scanned whole tables, so their cost grew with every order ever shipped:
 * - `shipment_items (item_id)`: what of an order line shipments already hold (the router, the line
 *   status after a shipment leaves) was a sequential scan of every shipment line per order line.
 * - `captures (payment_id)`: what an authorization has committed to captures (each capture, each
 *   release at delivery, each edit) was a sequential scan of every capture.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX IF NOT EXISTS shipment_items_item_idx ON shipment_items (item_id);
    CREATE INDEX IF NOT EXISTS captures_payment_idx ON captures (payment_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX IF EXISTS captures_payment_idx;
    DROP INDEX IF EXISTS shipment_items_item_idx;
  `);
}
