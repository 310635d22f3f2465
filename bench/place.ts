import autocannon from 'autocannon';
import { PGBENCH_PLACEMENT, createBenchUuidv7, seedBenchCatalog, BENCH_SKUS } from './placementWrites.js';
import { cpuBetween, cpuSnapshot, printCpuPerOrder, runPgbench, say, startBenchSystem } from './support.js';

export interface PlaceOptions {
  readonly seconds: number;
  readonly connections: number;
  /** The open-loop phase's offered rate (orders/s). */
  readonly rate: number;
}

interface LoadResult {
  readonly ordersPerSecond: number;
  readonly accepted: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
}

/** The placement transaction's writes for 100 orders in one transaction: pgbench's batched baseline. */
const PGBENCH_PLACEMENT_BATCH = `
\\set line random(0, ${BENCH_SKUS - 1})
BEGIN;
CREATE TEMP TABLE IF NOT EXISTS b (oid uuid, sid uuid, eid uuid, i1 uuid, i2 uuid) ON COMMIT DELETE ROWS;
INSERT INTO b SELECT bench_uuidv7(), bench_uuidv7(), bench_uuidv7(), bench_uuidv7(), bench_uuidv7() FROM generate_series(1, 100);
INSERT INTO orders (order_id, customer_id, channel, status, version, total_amount, currency, shipping_address, payment_method, created_at, updated_at)
  SELECT oid, 'pgbench', 'web', 'placed', 1, 3000, 'USD', '{"country":"US"}', '{"type":"card","token":"tok_visa"}', uuid7_time(oid), uuid7_time(oid) FROM b;
INSERT INTO order_items (item_id, order_id, order_created_at, line_no, sku, quantity, unit_price)
  SELECT i1, oid, uuid7_time(oid), 1, 'BENCH-' || :line, 1, 1000 FROM b
  UNION ALL SELECT i2, oid, uuid7_time(oid), 2, 'BENCH-' || ((:line + 1) % ${BENCH_SKUS}), 2, 1000 FROM b;
INSERT INTO sagas (saga_id, order_id, current_step, status, next_attempt_at) SELECT sid, oid, 'reserve_inventory', 'running', now() + interval '1 hour' FROM b;
INSERT INTO order_events (event_id, order_id, seq, type, payload) SELECT eid, oid, 1, 'bench.placed', '{"bench":true}' FROM b;
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) SELECT eid, 'bench', oid, 'bench.placed', '{"bench":true}' FROM b;
END;
`;

function orderRequest(i: number): string {
  const line = i % BENCH_SKUS;
  return JSON.stringify({
    customer_id: `bench-${i}`,
    channel: 'web',
    items: [
      { sku: `BENCH-${line}`, quantity: 1 },
      { sku: `BENCH-${(line + 1) % BENCH_SKUS}`, quantity: 2 },
    ],
    shipping_address: { name: 'Bench', line1: '1 Main St', city: 'Boston', postal_code: '02110', country: 'US' },
    payment_method: { type: 'card', token: 'tok_visa' },
  });
}

async function load(
  url: string,
  auth: Readonly<Record<string, string>>,
  seconds: number,
  connections: number,
  rate?: number,
): Promise<LoadResult> {
  let next = 0;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    ...(rate === undefined ? {} : { overallRate: rate }),
    requests: [
      {
        method: 'POST',
        path: '/api/v1/orders',
        headers: { 'content-type': 'application/json', ...auth },
        setupRequest: (request) => ({ ...request, body: orderRequest(next++) }),
      },
    ],
  });
  const accepted = result['2xx'];
  return {
    ordersPerSecond: accepted / seconds,
    accepted,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/**
 * `npm run bench -- place [--seconds 20] [--connections 64] [--rate 1000]`: places orders through the
 * HTTP API of the whole system as `npm start` runs it, closed loop (64 connections), then open loop at
 * --rate; next to pgbench running the same placement writes one order per transaction and 100 per
 * transaction, on the same schema, in the same run.
 */
export async function benchPlace(options: PlaceOptions): Promise<void> {
  const system = await startBenchSystem(
    'place',
    process.env.OMS_REPLICAS === undefined ? {} : { OMS_REPLICAS: process.env.OMS_REPLICAS },
  );
  let closed: LoadResult;
  let open: LoadResult;
  let cpuClosed: Map<string, number>;
  try {
    await seedBenchCatalog(system.pool);
    say(`closed loop: ${options.connections} connections for ${options.seconds} s on POST /api/v1/orders (the public port)`);
    const cpuBefore = cpuSnapshot();
    closed = await load(system.baseUrl, system.auth, options.seconds, options.connections);
    cpuClosed = cpuBetween(cpuBefore, cpuSnapshot());
    say(`open loop: ${options.rate} orders/s offered for 10 s`);
    open = await load(system.baseUrl, system.auth, 10, options.connections, options.rate);
    const written = await system.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM orders WHERE customer_id LIKE 'bench-%'`,
    );
    say(`${written.rows[0]?.n ?? 0} orders in the database`);
    await system.stopProcesses();

    await createBenchUuidv7(system.pool);
    say(`baseline: pgbench, the same writes, one order per transaction, 8 clients, ${options.seconds} s`);
    const single = runPgbench(PGBENCH_PLACEMENT, system.schema, ['-c', '8', '-j', '2', '-T', String(options.seconds)]);
    say(`baseline: pgbench, the same writes, 100 orders per transaction, 4 clients, ${options.seconds} s`);
    const batched = runPgbench(PGBENCH_PLACEMENT_BATCH, system.schema, ['-c', '4', '-j', '2', '-T', String(options.seconds)]);

    console.log('');
    console.log(
      `place benchmark — the whole system as npm start runs it${process.env.OMS_REPLICAS ? ` (OMS_REPLICAS=${process.env.OMS_REPLICAS})` : ''}`,
    );
    console.log(
      `  closed loop, ${options.connections} connections: ${closed.ordersPerSecond.toFixed(0)} orders/s, POST p50 ${closed.p50} ms, p99 ${closed.p99} ms (${closed.non2xx} non-2xx, ${closed.errors} errors)`,
    );
    console.log(
      `  open loop at ${options.rate}/s:          ${open.ordersPerSecond.toFixed(0)} orders/s, POST p50 ${open.p50} ms, p99 ${open.p99} ms (${open.non2xx} non-2xx, ${open.errors} errors)`,
    );
    printCpuPerOrder('closed loop', cpuClosed, closed.accepted);
    if (single && batched) {
      const batchedOrders = batched.tps * 100;
      console.log(
        `  baseline: pgbench 1 order per transaction:    ${single.tps.toFixed(0)} orders/s (p99 ${single.p99Ms.toFixed(1)} ms)`,
      );
      console.log(`  baseline: pgbench 100 orders per transaction: ${batchedOrders.toFixed(0)} orders/s`);
      const ratio = closed.ordersPerSecond / single.tps;
      console.log(
        `  ratio: ${ratio.toFixed(2)}× pgbench one per transaction, ${(closed.ordersPerSecond / batchedOrders).toFixed(2)}× pgbench batched`,
      );
      console.log(
        `  aims: ≥ 3000 orders/s ${closed.ordersPerSecond >= 3000 ? 'met' : 'not met'}; ≥ 1.5× pgbench one per transaction ${ratio >= 1.5 ? 'met' : 'not met'}; POST p99 < 50 ms at ${options.rate}/s ${open.p99 < 50 && open.ordersPerSecond >= options.rate * 0.95 ? 'met' : 'not met'}`,
      );
    } else {
      console.log('  baseline: pgbench not installed; no ratio');
    }
  } finally {
    await system.stop();
  }
}
