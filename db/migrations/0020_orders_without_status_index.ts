import type { Knex } from 'knex';

/**
 * No index on `orders.status`. No query of ours selects orders by their status (lists and counts by
 * status read `order_view`, which has its own index), yet every status change had to add an entry to
 * it and to every other index of `orders`, since an update that changes an indexed column cannot be a
 * heap-only (HOT) update. Measured with pg_stat_statements at 200 orders/s: about 8 updates of an
 * order's row over its life, 5 of them status changes, so 5 rounds of index inserts per order saved.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS orders_status_idx');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX IF NOT EXISTS orders_status_idx ON orders (status)');
}
