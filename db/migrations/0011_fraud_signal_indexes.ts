import type { Knex } from 'knex';

/**
 * The fraud check's "card already used on a trusted order of this customer" was a walk over every order
 * of the customer (reading each one's status and payment method), so its cost grew with the customer's
 * history: a repeat customer with 50 orders cost 50 heap reads per saga. A partial index on the
 * customer and card token of trusted orders answers it with one probe. Its predicate is the list
 * workers/saga/sagaStore.ts writes in its query (kept equal to TRUSTED_STATUSES).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX IF NOT EXISTS orders_trusted_card_idx ON orders (customer_id, (payment_method->>'token'))
     WHERE status IN ('confirmed', 'processing', 'partially_shipped', 'shipped', 'delivered');
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS orders_trusted_card_idx');
}
