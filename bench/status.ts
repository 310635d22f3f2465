import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { createApiKey } from '../platform/apiKeys.js';
import { createPool } from '../platform/db.js';
import { freePort } from '../platform/http.js';
import { migrateLatest, quoteIdent } from '../platform/migrate.js';
import { rebuild } from '../scripts/replay.js';
import { SERVICE_NODE_FLAGS } from '../platform/nodeProcess.js';
import { benchDatabaseUrl, repoRoot, say } from './support.js';
import { ensureDatabase } from '../platform/migrate.js';

export interface StatusOptions {
  readonly orders: number;
  readonly seconds: number;
  readonly connections: number;
}

interface LoadResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
}

async function waitFor(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (
    !(await fetch(url).then(
      (r) => r.status < 500,
      () => false,
    ))
  ) {
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function startProcess(script: string, env: Record<string, string>): { child: ChildProcess; stop: () => Promise<void> } {
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, `${repoRoot}${script}`], {
    env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function load(
  port: number,
  ids: readonly string[],
  options: StatusOptions,
  headers: Record<string, string> = {},
): Promise<LoadResult> {
  let next = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: options.connections,
    duration: options.seconds,
    requests: [
      {
        method: 'GET',
        headers,
        setupRequest: (request) => {
          next = (next + 7919) % ids.length;
          return { ...request, path: `/api/v1/orders/${ids[next]}` };
        },
      },
    ],
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx };
}

/**
 * `npm run bench -- status`: seeds orders' event histories by SQL, builds the order view with the
 * replay tool (its events/s is the replay figure), then loads GET /api/v1/orders/{id} on the public
 * API port (api/main.ts, as `npm start` serves it) and on the query service's own port over random
 * ids with autocannon, next to a bare node:http + pg server doing the same primary-key SELECT, measured
 * in the same run.
 */
export async function benchStatus(options: StatusOptions): Promise<void> {
  await ensureDatabase(benchDatabaseUrl);
  const schema = `bench_status_${Date.now().toString(36)}`;
  await migrateLatest({ databaseUrl: benchDatabaseUrl, schema });
  const pool = createPool({ databaseUrl: benchDatabaseUrl, schema, max: 4 });
  try {
    say(`seeding ${options.orders} orders × 5 events by SQL into schema ${schema}`);
    const seeded = performance.now();
    await pool.query(
      `WITH o AS (
         SELECT n, (lpad(to_hex((extract(epoch FROM timestamptz '2026-01-01') * 1000)::bigint + n), 12, '0') || '7' ||
                    substr(md5(n::text), 1, 3) || '8' || substr(md5(n::text), 4, 15))::uuid AS id,
                timestamptz '2026-01-01' + n * interval '1 millisecond' AS at
           FROM generate_series(1, $1) n
       ), e(seq, type, payload) AS (VALUES
         (1, 'order.placed', '{}'::jsonb), (2, 'inventory.reserved', '{}'), (3, 'payment.authorized', '{}'),
         (4, 'fraud.checked', '{"decision": "accept", "score": 0, "reasons": []}'), (5, 'order.confirmed', '{}'))
       INSERT INTO order_events (event_id, order_id, seq, type, payload, occurred_at)
       SELECT gen_random_uuid(), o.id, e.seq, e.type,
              CASE WHEN e.seq = 1 THEN jsonb_build_object(
                     'saga_id', gen_random_uuid(), 'customer_id', 'bench-' || (o.n % 5000), 'channel', 'web', 'currency', 'USD',
                     'total_amount', 2500, 'items', jsonb_build_array(jsonb_build_object('item_id', gen_random_uuid(), 'sku', 'BENCH-' || (o.n % 20),
                     'quantity', 1, 'unit_price', 2500)))
                   WHEN e.seq = 3 THEN jsonb_build_object('payment_id', gen_random_uuid(), 'amount', 2500)
                   ELSE e.payload END,
              o.at + e.seq * interval '10 milliseconds'
         FROM o CROSS JOIN e ORDER BY o.id, e.seq`,
      [options.orders],
    );
    say(`seeded in ${((performance.now() - seeded) / 1000).toFixed(1)} s; building the order view with the replay tool`);
    const replay = await rebuild(pool, say);
    const ids = (await pool.query<{ order_id: string }>('SELECT order_id FROM order_view')).rows.map((r) => r.order_id);
    // Reads authenticate as every client does; an admin key is not rate limited, so the load is not throttled.
    const auth = {
      Authorization: `Bearer ${(await createApiKey(pool, { name: 'bench', channel: null, scopes: ['admin'] })).key}`,
    };

    // Reads only, no workers: readiness (/health) asks only for the dependencies.
    const env = { DATABASE_URL: benchDatabaseUrl, DATABASE_SCHEMA: schema, READY_WORKERS: '' };
    // The public port as `npm start` serves it: the API front (command and query apps in one process).
    const apiPort = await freePort();
    const api = startProcess('dist/api/main.js', { ...env, PORT: String(apiPort) });
    await waitFor(`http://127.0.0.1:${apiPort}/health`);
    say(`loading GET /api/v1/orders/{id} on the public API port for ${options.seconds} s, ${options.connections} connections`);
    const ours = await load(apiPort, ids, options, auth);
    await api.stop();

    // The query service alone on its own port: what the API front costs on top of it.
    const queryPort = await freePort();
    const query = startProcess('dist/query-service/main.js', { ...env, QUERY_PORT: String(queryPort) });
    await waitFor(`http://127.0.0.1:${queryPort}/health`);
    say(`loading the same on the query service's own port`);
    const alone = await load(queryPort, ids, options, auth);
    await query.stop();

    const basePort = await freePort();
    const base = startProcess('dist/bench/baselineServer.js', { ...env, PORT: String(basePort) });
    await waitFor(`http://127.0.0.1:${basePort}/api/v1/orders/${ids[0]}`);
    say('baseline: bare node:http + pg, same SELECT, same load');
    const baseline = await load(basePort, ids, options);
    await base.stop();

    console.log('');
    console.log(`status benchmark — ${ids.length} orders, ${options.connections} connections, ${options.seconds} s`);
    console.log(`  public API port ${ours.rps.toFixed(0)} req/s, p50 ${ours.p50} ms, p99 ${ours.p99} ms, non-2xx ${ours.non2xx}`);
    console.log(
      `  query service   ${alone.rps.toFixed(0)} req/s, p50 ${alone.p50} ms, p99 ${alone.p99} ms, non-2xx ${alone.non2xx} (its own port)`,
    );
    console.log(
      `  baseline        ${baseline.rps.toFixed(0)} req/s, p50 ${baseline.p50} ms, p99 ${baseline.p99} ms, non-2xx ${baseline.non2xx}`,
    );
    console.log(
      `  ratio           ${((100 * ours.rps) / baseline.rps).toFixed(0)} % of the baseline's throughput (aim ≥ 50 %; ≥ 5000 req/s, p99 < 20 ms)`,
    );
    console.log(
      `replay benchmark — ${replay.events} events folded in ${replay.seconds.toFixed(1)} s: ${Math.round(replay.events / replay.seconds)} events/s (aim ≥ 20000)`,
    );
  } finally {
    await pool.end();
    const admin = createPool({ databaseUrl: benchDatabaseUrl, schema: 'public', max: 1 });
    await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await admin.end();
    say('benchmark schema dropped');
  }
}
