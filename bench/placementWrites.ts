import type { Pool } from '../platform/db.js';

/** The benchmarks' catalog: SKUs in warehouses with stock that never runs out. */
export const BENCH_SKUS = 20;
export const BENCH_WAREHOUSES = 4;

export async function seedBenchCatalog(pool: Pool): Promise<void> {
  await pool.query(
    `INSERT INTO products (sku, name, price, currency) SELECT 'BENCH-' || n, 'Bench ' || n, 1000, 'USD' FROM generate_series(0, ${BENCH_SKUS - 1}) n;
     INSERT INTO warehouses (warehouse_id, name, lat, lon, capacity_per_day, carriers)
       SELECT 'BW-' || n, 'Bench ' || n, 40 + n, -74 + n, 100000, '{ups}' FROM generate_series(0, ${BENCH_WAREHOUSES - 1}) n;
     INSERT INTO inventory (warehouse_id, sku, on_hand)
       SELECT 'BW-' || w, 'BENCH-' || s, 10000000 FROM generate_series(0, ${BENCH_WAREHOUSES - 1}) w, generate_series(0, ${BENCH_SKUS - 1}) s;`,
  );
}

/** The placement transaction's writes, as pgbench runs them: the baseline for one placement. */
export const PGBENCH_PLACEMENT = `
\\set line random(0, ${BENCH_SKUS - 1})
BEGIN;
SELECT bench_uuidv7() AS oid, bench_uuidv7() AS sid, bench_uuidv7() AS eid, bench_uuidv7() AS i1, bench_uuidv7() AS i2 \\gset
INSERT INTO orders (order_id, customer_id, channel, status, version, total_amount, currency, shipping_address, payment_method, created_at, updated_at)
  VALUES (':oid', 'pgbench', 'web', 'placed', 1, 3000, 'USD', '{"country":"US"}', '{"type":"card","token":"tok_visa"}', uuid7_time(':oid'), uuid7_time(':oid'));
INSERT INTO order_items (item_id, order_id, order_created_at, line_no, sku, quantity, unit_price)
  VALUES (':i1', ':oid', uuid7_time(':oid'), 1, 'BENCH-' || :line, 1, 1000), (':i2', ':oid', uuid7_time(':oid'), 2, 'BENCH-' || ((:line + 1) % ${BENCH_SKUS}), 2, 1000);
INSERT INTO sagas (saga_id, order_id, current_step, status, next_attempt_at) VALUES (':sid', ':oid', 'reserve_inventory', 'running', now() + interval '1 hour');
INSERT INTO order_events (event_id, order_id, seq, type, payload) VALUES (':eid', ':oid', 1, 'bench.placed', '{"bench":true}');
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES (':eid', 'bench', ':oid', 'bench.placed', '{"bench":true}');
END;
`;

/** A UUIDv7 generator in SQL for pgbench's scripts (created once the system's processes are stopped). */
export async function createBenchUuidv7(pool: Pool): Promise<void> {
  await pool.query(`
    CREATE OR REPLACE FUNCTION bench_uuidv7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
      SELECT (lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7'
              || substr(md5(random()::text), 1, 3) || to_hex(8 + floor(random() * 4)::int)
              || substr(md5(random()::text), 1, 15))::uuid $$`);
}
