import type { Knex } from 'knex';

/**
 * The services connect as a role that cannot create tables (decision 0015), yet the command service
 * keeps monthly order partitions ahead: ensure_order_partitions runs as its owner (SECURITY DEFINER),
 * with its search_path pinned to this schema and pg_temp last, so a caller's objects cannot stand in for
 * ours. Only roles granted EXECUTE (the service role, by the grants step after migrating) may call it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DO $$ BEGIN
      EXECUTE format(
        'ALTER FUNCTION ensure_order_partitions(date, integer) SECURITY DEFINER SET search_path = %I, pg_temp',
        current_schema());
    END $$;
    REVOKE EXECUTE ON FUNCTION ensure_order_partitions(date, integer) FROM PUBLIC;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER FUNCTION ensure_order_partitions(date, integer) SECURITY INVOKER RESET search_path;
    GRANT EXECUTE ON FUNCTION ensure_order_partitions(date, integer) TO PUBLIC;
  `);
}
