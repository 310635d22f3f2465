import type { Knex } from 'knex';

/**
 * Lighter writes on the placement hot path, where thousands of orders a second meet:
 * - `order_items.sku` no longer references `products`: the foreign-key check locked the product row
 *   (FOR KEY SHARE) for every line of every order, so a flash sale on one SKU had every placement
 *   transaction lock the same row. The placement reads the SKU's price in the same transaction and
 *   products are never deleted (no API does), so the check added nothing but the contention.
 * - `orders_status_idx` goes: no query reads orders by status (the operational listing reads the
 *   order_view read table), and an indexed status made every status change a non-HOT update.
 * - `sagas_due_idx` goes: `sagas_type_due_idx` (saga_type, next_attempt_at) serves every due poll.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE order_items DROP CONSTRAINT IF EXISTS order_items_sku_fkey;
    DROP INDEX IF EXISTS orders_status_idx;
    DROP INDEX IF EXISTS sagas_due_idx;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX IF NOT EXISTS sagas_due_idx ON sagas (next_attempt_at) WHERE status IN ('running', 'compensating');
    CREATE INDEX IF NOT EXISTS orders_status_idx ON orders (status);
    ALTER TABLE order_items ADD CONSTRAINT order_items_sku_fkey FOREIGN KEY (sku) REFERENCES products (sku) NOT VALID;
  `);
}
