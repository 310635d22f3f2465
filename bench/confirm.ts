import {
  BENCH_SKUS as SKUS,
  BENCH_WAREHOUSES,
  PGBENCH_PLACEMENT,
  createBenchUuidv7,
  seedBenchCatalog,
} from './placementWrites.js';
import { progressLine } from '../scripts/cli.js';
import {
  cpuBetween,
  cpuSnapshot,
  percentile,
  printCpuPerOrder,
  runPgbench,
  samplePressure,
  say,
  startBenchSystem,
  type PgbenchResult,
} from './support.js';

const PLACEMENT_SERVICES = ['api', 'relay', 'saga-worker', 'psp-sandbox', 'projector'];

export interface ConfirmOptions {
  readonly rate: number;
  readonly seconds: number;
  readonly placementOnly?: boolean;
}

/**
 * `npm run bench -- confirm [--rate 200] [--seconds 20]`: places orders at a fixed rate through the
 * HTTP API of the whole system and measures placement → final status (from the event log's times),
 * next to pgbench running the placement transaction's writes at the same rate.
 */
export async function benchConfirm(options: ConfirmOptions): Promise<void> {
  // --placement-only: the placement pipeline alone, without fulfillment competing for the machine.
  const system = await startBenchSystem('confirm', options.placementOnly ? { OMS_SERVICES: PLACEMENT_SERVICES.join(',') } : {});
  try {
    await seedBenchCatalog(system.pool);
    say(`catalog: ${SKUS} products in ${BENCH_WAREHOUSES} warehouses; placing ${options.rate} orders/s for ${options.seconds} s`);

    const cpuAtStart = cpuSnapshot();
    const pressure = samplePressure(system);
    const total = options.rate * options.seconds;
    const orderIds: string[] = [];
    const httpLatencies: number[] = [];
    let failed = 0;
    const started = performance.now();
    const inFlight: Array<Promise<void>> = [];
    const sending = progressLine(process.stdout);
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / options.rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const line = i % SKUS;
      const sent = performance.now();
      inFlight.push(
        fetch(`${system.baseUrl}/api/v1/orders`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...system.auth },
          body: JSON.stringify({
            customer_id: `bench-${i}`,
            channel: 'web',
            items: [
              { sku: `BENCH-${line}`, quantity: 1 },
              { sku: `BENCH-${(line + 1) % SKUS}`, quantity: 2 },
            ],
            shipping_address: { name: 'Bench', line1: '1 Main St', city: 'Boston', postal_code: '02110', country: 'US' },
            payment_method: { type: 'card', token: 'tok_visa' },
          }),
        }).then(
          async (response) => {
            httpLatencies.push(performance.now() - sent);
            const body = (await response.json()) as { order_id?: string };
            if (response.status === 202 && body.order_id) orderIds.push(body.order_id);
            else failed++;
          },
          () => {
            failed++;
          },
        ),
      );
      if ((i + 1) % options.rate === 0)
        sending.update(
          `bench: ${Math.round((i + 1) / options.rate)} s: ${i + 1} sent, ${orderIds.length} accepted, ${failed} failed`,
          i + 1 === total,
        );
    }
    await Promise.all(inFlight);
    sending.done();
    const sendSeconds = (performance.now() - started) / 1000;
    const pressureShare = await pressure.stop();
    say(`back pressure was raised during ${(pressureShare * 100).toFixed(0)} % of the run`);

    say(`waiting for ${orderIds.length} orders to reach a final status`);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const open = await system.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM orders WHERE order_id = ANY($1::uuid[]) AND status = 'placed'`,
        [orderIds],
      );
      const remaining = open.rows[0]?.n ?? 0;
      if (remaining === 0) break;
      if (Date.now() > deadline) throw new Error(`${remaining} orders still not final after 120 s`);
      say(`${remaining} orders not final yet`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }

    const cpuToFinal = cpuBetween(cpuAtStart, cpuSnapshot());

    // With fulfillment running, every confirmed order should be delivered within 60 s after the run.
    let delivered: { orders: number; seconds: number } | undefined;
    if (!options.placementOnly) {
      const sentEnded = Date.now();
      for (;;) {
        const open = await system.pool.query<{ n: number; delivered: number }>(
          `SELECT count(*) FILTER (WHERE status NOT IN ('delivered', 'rejected', 'cancelled'))::int AS n,
                  count(*) FILTER (WHERE status = 'delivered')::int AS delivered
             FROM orders WHERE order_id = ANY($1::uuid[])`,
          [orderIds],
        );
        const remaining = open.rows[0]?.n ?? 0;
        if (remaining === 0) {
          delivered = { orders: open.rows[0]?.delivered ?? 0, seconds: (Date.now() - sentEnded) / 1000 };
          break;
        }
        if (Date.now() - sentEnded > 90_000) {
          say(`${remaining} orders still not delivered 90 s after the run`);
          const where = await system.pool.query<{ what: string; n: number }>(
            `SELECT 'order ' || status::text AS what, count(*)::int AS n FROM orders WHERE order_id = ANY($1::uuid[]) GROUP BY 1
             UNION ALL
             SELECT 'shipment ' || status, count(*)::int FROM shipments WHERE order_id = ANY($1::uuid[]) GROUP BY 1
             UNION ALL
             SELECT 'capture ' || status, count(*)::int FROM captures WHERE order_id = ANY($1::uuid[]) GROUP BY 1
             ORDER BY 1`,
            [orderIds],
          );
          say(`where they are: ${where.rows.map((r) => `${r.what} ${r.n}`).join(', ')}`);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      if (delivered) say(`${delivered.orders} orders delivered, the last ${delivered.seconds.toFixed(1)} s after the run`);
    }
    const cpuToDelivered = cpuBetween(cpuAtStart, cpuSnapshot());

    const latencies = await system.pool.query<{ ms: number; status: string }>(
      `SELECT extract(epoch FROM f.occurred_at - p.occurred_at) * 1000 AS ms, f.type AS status
         FROM orders o
         JOIN order_events p ON p.order_id = o.order_id AND p.type = 'order.placed'
         JOIN order_events f ON f.order_id = o.order_id AND f.type IN ('order.confirmed', 'order.rejected')
        WHERE o.order_id = ANY($1::uuid[])`,
      [orderIds],
    );
    const confirmMs = latencies.rows.map((r) => Number(r.ms)).sort((a, b) => a - b);
    // Where the time goes: to the saga's first step (relay + stream + queue), then the saga itself.
    const stages = await system.pool.query<{ to_reserved: number; to_final: number }>(
      `SELECT extract(epoch FROM r.occurred_at - p.occurred_at) * 1000 AS to_reserved,
              extract(epoch FROM f.occurred_at - r.occurred_at) * 1000 AS to_final
         FROM order_events p
         JOIN order_events r ON r.order_id = p.order_id AND r.type = 'inventory.reserved'
         JOIN order_events f ON f.order_id = p.order_id AND f.type IN ('order.confirmed', 'order.rejected')
        WHERE p.type = 'order.placed' AND p.order_id = ANY($1::uuid[])`,
      [orderIds],
    );
    const toReserved = stages.rows.map((r) => Number(r.to_reserved)).sort((a, b) => a - b);
    const toFinal = stages.rows.map((r) => Number(r.to_final)).sort((a, b) => a - b);
    // Confirmed orders move on to fulfillment: the placement's outcome is its final event.
    const confirmed = latencies.rows.filter((r) => r.status === 'order.confirmed').length;
    httpLatencies.sort((a, b) => a - b);

    await system.stopProcesses();
    say(`baseline: pgbench running the placement transaction's writes at ${options.rate}/s for ${options.seconds} s`);
    await createBenchUuidv7(system.pool);
    const baseline: PgbenchResult | undefined = runPgbench(PGBENCH_PLACEMENT, system.schema, [
      '-c',
      '4',
      '-j',
      '2',
      '-R',
      String(options.rate),
      '-T',
      String(options.seconds),
    ]);

    const p50 = percentile(confirmMs, 50);
    const p99 = percentile(confirmMs, 99);
    console.log('');
    console.log(`confirm benchmark — ${options.rate} orders/s offered for ${options.seconds} s`);
    console.log(
      `  orders accepted           ${orderIds.length} (${failed} failed), rate reached ${(orderIds.length / sendSeconds).toFixed(1)}/s`,
    );
    console.log(`  final status              ${confirmed} confirmed, ${confirmMs.length - confirmed} rejected`);
    console.log(
      `  placement → final         p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${(confirmMs.at(-1) ?? 0).toFixed(1)} ms`,
    );
    console.log(
      `    placed → reserved       p50 ${percentile(toReserved, 50).toFixed(1)} ms, p99 ${percentile(toReserved, 99).toFixed(1)} ms`,
    );
    console.log(
      `    reserved → final        p50 ${percentile(toFinal, 50).toFixed(1)} ms, p99 ${percentile(toFinal, 99).toFixed(1)} ms`,
    );
    console.log(
      `  POST /api/v1/orders       p50 ${percentile(httpLatencies, 50).toFixed(1)} ms, p99 ${percentile(httpLatencies, 99).toFixed(1)} ms`,
    );
    if (baseline) {
      console.log(
        `  baseline: pgbench placement transaction at the same rate: p50 ${baseline.p50Ms.toFixed(2)} ms, p99 ${baseline.p99Ms.toFixed(2)} ms (${baseline.tps.toFixed(0)} tps)`,
      );
      console.log(`  ratio: placement → final p99 is ${(p99 / baseline.p99Ms).toFixed(1)}× the bare placement transaction's p99`);
    } else {
      console.log('  baseline: pgbench not installed; no ratio');
    }
    const toFinalCost = printCpuPerOrder(
      'POST → confirmed or rejected (fulfillment of earlier orders included)',
      cpuToFinal,
      orderIds.length,
    );
    let toDeliveredCost: number | undefined;
    if (delivered) {
      toDeliveredCost = printCpuPerOrder('POST → delivered', cpuToDelivered, orderIds.length);
      console.log(
        `  delivered: ${delivered.orders} of ${confirmed} confirmed orders, the last ${delivered.seconds.toFixed(1)} s after the run (aim ≤ 60 s)`,
      );
    }
    const kept = orderIds.length / sendSeconds >= options.rate * 0.95;
    console.log(
      `  aims at ${options.rate}/s: p99 < 1000 ms ${p99 < 1000 && kept ? 'met' : 'not met'}; p50 < 200 ms ${p50 < 200 && kept ? 'met' : 'not met'}; ≤ 3 core-ms per order to confirmed ${toFinalCost <= 3 ? 'met' : 'not met'}` +
        (toDeliveredCost === undefined
          ? ''
          : `; ≤ 10 core-ms per order to delivered ${toDeliveredCost <= 10 ? 'met' : 'not met'}; every order delivered within 60 s ${delivered !== undefined && delivered.seconds <= 60 && delivered.orders === confirmed ? 'met' : 'not met'}`),
    );
  } finally {
    await system.stop();
  }
}
