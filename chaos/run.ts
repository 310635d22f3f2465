import { setTimeout as sleep } from 'node:timers/promises';
import { startBenchSystem, type BenchSystem } from '../bench/support.js';
import { prng } from '../platform/prng.js';
import { createRedis } from '../platform/redis.js';
import {
  duplicateKafkaMessages,
  duplicateStreamEntries,
  flushRedis,
  killService,
  restartPostgres,
  serviceProcesses,
  stopKafka,
  stopRedis,
  type InjectedFault,
} from './faults.js';
import { checkInvariants, type InvariantResult } from './invariants.js';

export interface ChaosOptions {
  /** Orders placed in all. */
  readonly orders: number;
  /** Orders placed per second. */
  readonly rate: number;
  /** Seed of the run's choices (which orders decline, cancel, edit, refund; when faults come). */
  readonly seed: number;
  /** How long the system may take, after the last fault, to get every order to its end. */
  readonly settleMs: number;
  /**
   * Faults of the shared infrastructure (PostgreSQL restart, Kafka and Redis stops, FLUSHALL) hit every
   * user of this machine's services; false leaves them out (process kills and duplicates only).
   */
  readonly infrastructureFaults: boolean;
  readonly say: (line: string) => void;
}

export interface ChaosReport {
  readonly accepted: number;
  readonly faults: readonly InjectedFault[];
  readonly invariants: readonly InvariantResult[];
  readonly requests: Readonly<Record<string, number>>;
}

const SKUS = 8;
const WAREHOUSES = 3;
const START_STOCK = 100_000;
const ADDRESS = { name: 'Chaos Monkey', line1: '1 Main St', city: 'New York', postal_code: '10001', country: 'US' };

/** What the run does to an order after placing it. */
type Plan = 'plain' | 'declined' | 'fraud' | 'cancel' | 'edit' | 'refund';

function planFor(random: () => number): Plan {
  const r = random();
  if (r < 0.08) return 'declined';
  if (r < 0.13) return 'fraud';
  if (r < 0.23) return 'cancel';
  if (r < 0.28) return 'edit';
  if (r < 0.33) return 'refund';
  return 'plain';
}

/** Environment for a system under chaos: fast partners and short idle times, so orders end quickly. */
const CHAOS_ENV = {
  WMS_SIM_STEP_MS: '300',
  CARRIER_SIM_STEP_MS: '400',
  TRACKING_POLL_MS: '500',
  TRACKING_MAX_POLL_MS: '2000',
  CONSUMER_CLAIM_IDLE_MS: '2000',
  PSP_TIMEOUT_MS: '1000',
  PSP_RETRY_DEADLINE_MS: '60000',
  SAGA_LEASE_MS: '5000',
  SAGA_STUCK_AFTER_MS: '10000',
};

/**
 * `npm run chaos`: orders flow at a steady rate (with declines, fraud rejects, cancellations, edits and
 * refunds) while every service process is SIGKILLed at some moment, PostgreSQL restarts, Kafka stops
 * for 20 s, Redis stops for 10 s and is flushed once, and deliveries are duplicated and reordered; then
 * the run waits for quiet and checks the invariants (chaos/invariants.ts).
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { say } = options;
  const random = prng(options.seed);
  const system = await startBenchSystem('chaos', CHAOS_ENV);
  const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 'chaos');
  const faults: InjectedFault[] = [];
  const requests: Record<string, number> = {};
  const count = (what: string) => {
    requests[what] = (requests[what] ?? 0) + 1;
  };
  const startedAt = Date.now();
  try {
    await seedCatalog(system);
    const stockAtStart = new Map<string, number>();
    for (const r of (await system.pool.query<{ warehouse_id: string; sku: string; on_hand: number }>('SELECT * FROM inventory'))
      .rows)
      stockAtStart.set(`${r.warehouse_id}|${r.sku}`, r.on_hand);

    const layout = { prefix: system.env.REDIS_PREFIX ?? '', partitions: Number(system.env.REDIS_STREAM_PARTITIONS ?? 8) };
    const services = [...serviceProcesses(system.pid).keys()].sort();
    const durationMs = (options.orders / options.rate) * 1000;
    // Each fault once, at a random moment while orders flow (in the first 90 % of the run).
    const schedule: Array<{ at: number; name: string; run: () => Promise<string> }> = [
      ...services.map((service) => ({
        at: random(),
        name: `kill ${service}`,
        run: async () => killService(system.pid, service),
      })),
      ...(options.infrastructureFaults
        ? [
            { at: random(), name: 'restart PostgreSQL', run: async () => restartPostgres() },
            { at: random(), name: 'stop Kafka 20 s', run: () => stopKafka(20_000) },
            { at: random(), name: 'stop Redis 10 s', run: () => stopRedis(10_000) },
            { at: random(), name: 'FLUSHALL Redis', run: () => flushRedis(redis) },
          ]
        : []),
      { at: random(), name: 'duplicate stream entries', run: () => duplicateStreamEntries(redis, layout, 40) },
      {
        at: random(),
        name: 'duplicate Kafka messages',
        run: () => duplicateKafkaMessages(system.pool, ['127.0.0.1:9092'], system.env.KAFKA_ORDER_EVENTS_TOPIC ?? '', 20),
      },
    ]
      .map((fault) => ({ ...fault, at: fault.at * 0.9 }))
      .sort((a, b) => a.at - b.at);
    say(
      `chaos: ${options.orders} orders at ${options.rate}/s; ${schedule.length} faults: ${schedule.map((f) => f.name).join(', ')}`,
    );

    // Each fault at its own moment (a long one, like a 20 s Kafka stop, may overlap others); orders keep
    // flowing meanwhile.
    const faultsDone = Promise.all(
      schedule.map(async (fault) => {
        await sleep(Math.max(0, startedAt + fault.at * durationMs - Date.now()));
        const at = Date.now() - startedAt;
        try {
          const detail = await fault.run();
          faults.push({ at, fault: fault.name, detail });
          say(`fault at ${(at / 1000).toFixed(1)} s: ${fault.name}: ${detail}`);
        } catch (error) {
          faults.push({ at, fault: fault.name, detail: `could not inject: ${String(error)}` });
        }
      }),
    );

    const orders: Array<{ id: string; plan: Plan }> = [];
    const followUps: Array<Promise<void>> = [];
    for (let i = 0; i < options.orders; i++) {
      const due = startedAt + (i * 1000) / options.rate;
      if (due > Date.now()) await sleep(due - Date.now());
      const plan = planFor(random);
      const line = Math.floor(random() * SKUS);
      const body = {
        customer_id: `chaos-${system.schema}-${i}`,
        channel: 'web',
        items: [
          { sku: `CHAOS-${line}`, quantity: 1 + Math.floor(random() * 2) },
          { sku: `CHAOS-${(line + 1) % SKUS}`, quantity: 1 },
        ],
        shipping_address: ADDRESS,
        payment_method: {
          type: 'card',
          token: plan === 'declined' ? 'tok_chargeDeclined' : plan === 'fraud' ? 'tok_riskLevelHighest' : 'tok_visa',
        },
      };
      followUps.push(
        send(system, 'POST', '/api/v1/orders', body, { 'Idempotency-Key': `chaos-${system.schema}-${i}` }, count).then(
          async (answer) => {
            if (answer?.status !== 202) return;
            const id = String(answer.body.order_id);
            orders.push({ id, plan });
            await followUp(system, id, plan, random, count);
          },
        ),
      );
      if ((i + 1) % Math.max(1, Math.round(options.rate * 5)) === 0) say(`${i + 1} orders sent, ${orders.length} accepted`);
    }
    await faultsDone;
    await Promise.all(followUps);
    say(`all ${orders.length} accepted orders sent and followed up; waiting for quiet`);

    const orderIds = orders.map((o) => o.id);
    const quietBy = Date.now() + options.settleMs;
    for (;;) {
      const open = await system.pool
        .query<{ n: number }>(
          `SELECT (SELECT count(*) FROM orders WHERE order_id = ANY($1::uuid[]) AND status::text NOT IN ('rejected', 'cancelled', 'delivered'))
                + (SELECT count(*) FROM sagas WHERE status IN ('running', 'compensating'))
                + (SELECT count(*) FROM captures WHERE status = 'pending') AS n`,
          [orderIds],
        )
        .then((r) => Number(r.rows[0]?.n ?? 0))
        .catch(() => -1);
      if (open === 0 || Date.now() > quietBy) break;
      say(`${open < 0 ? 'database not answering' : `${open} orders, sagas or captures still moving`}`);
      await sleep(2_000);
    }
    // The read model catches up last (the projector may have been killed late).
    await sleep(3_000);

    const invariants = await checkInvariants({
      pool: system.pool,
      pspSchema: `${system.schema}_psp`,
      orderIds,
      stockAtStart,
    });
    return { accepted: orders.length, faults, invariants, requests };
  } finally {
    redis.disconnect();
    await system.stop();
  }
}

async function seedCatalog(system: BenchSystem): Promise<void> {
  await system.pool.query(
    `INSERT INTO products (sku, name, price, currency) SELECT 'CHAOS-' || n, 'Chaos ' || n, 1000 + n * 100, 'USD' FROM generate_series(0, ${SKUS - 1}) n;
     INSERT INTO warehouses (warehouse_id, name, lat, lon, capacity_per_day, carriers)
       SELECT 'CW-' || n, 'Chaos ' || n, 40 + n, -74 - n, 100000, '{ups,dhl}' FROM generate_series(0, ${WAREHOUSES - 1}) n;
     INSERT INTO inventory (warehouse_id, sku, on_hand)
       SELECT 'CW-' || w, 'CHAOS-' || s, ${START_STOCK} FROM generate_series(0, ${WAREHOUSES - 1}) w, generate_series(0, ${SKUS - 1}) s;
     SELECT nextval('catalog_epoch');`,
  );
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/**
 * One request, sent again (with the same Idempotency-Key) while the system cannot answer: connection
 * errors, 503s and 5xx of a process restarting. Gives up after 90 s.
 */
async function send(
  system: BenchSystem,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
  count: (what: string) => void,
): Promise<Answer | undefined> {
  const until = Date.now() + 90_000;
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(`${system.baseUrl}${path}`, {
        method,
        headers: { 'Content-Type': 'application/json', ...system.auth, ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      count(
        `${method} ${path.split('/')[3] ?? ''}${path.split('/').length > 5 ? `/${path.split('/')[5]}` : ''} → ${response.status}`,
      );
      if (response.status < 500)
        return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
    } catch {
      count(`${method} → no answer`);
    }
    if (Date.now() > until) return undefined;
    await sleep(Math.min(200 * 2 ** attempt, 3_000) * (0.5 + Math.random() / 2));
  }
}

/** Waits (polling the write model) until the order reaches one of `statuses`, or 90 s pass. */
async function waitFor(system: BenchSystem, orderId: string, statuses: readonly string[]): Promise<string | undefined> {
  const until = Date.now() + 90_000;
  while (Date.now() < until) {
    const row = await system.pool
      .query<{ status: string }>('SELECT status::text FROM orders WHERE order_id = $1', [orderId])
      .then((r) => r.rows[0]?.status)
      .catch(() => undefined);
    if (row !== undefined && statuses.includes(row)) return row;
    await sleep(500);
  }
  return undefined;
}

async function followUp(system: BenchSystem, orderId: string, plan: Plan, random: () => number, count: (what: string) => void) {
  const orderPath = `/api/v1/orders/${orderId}`;
  if (plan === 'cancel') {
    await sleep(random() * 3_000);
    await send(system, 'POST', `${orderPath}/cancel`, { reason: 'chaos' }, {}, count);
  } else if (plan === 'edit') {
    if ((await waitFor(system, orderId, ['confirmed', 'processing', 'rejected'])) === 'rejected') return;
    // The read model may not have the order yet: asked again until it does.
    let current: Answer | undefined;
    for (let tries = 0; tries < 30 && current?.status !== 200; tries++) {
      if (tries > 0) await sleep(1_000);
      current = await send(system, 'GET', orderPath, undefined, {}, count);
    }
    const item = (current?.body.items as Array<{ item_id: string; quantity: number }> | undefined)?.[0];
    if (current?.status !== 200 || item === undefined) return;
    await send(
      system,
      'PATCH',
      orderPath,
      { items: [{ item_id: item.item_id, quantity: item.quantity + 1 }] },
      { 'If-Match': String(current.body.version), 'Idempotency-Key': `chaos-edit-${orderId}` },
      count,
    );
  } else if (plan === 'refund') {
    if ((await waitFor(system, orderId, ['delivered', 'rejected', 'cancelled'])) !== 'delivered') return;
    await send(
      system,
      'POST',
      `${orderPath}/refunds`,
      { amount: 500, reason: 'chaos' },
      { 'Idempotency-Key': `chaos-refund-${orderId}` },
      count,
    );
  }
}

/** The report as a table, and whether every invariant held. */
export function printReport(report: ChaosReport, print: (line: string) => void): boolean {
  print(`\nchaos run — ${report.accepted} orders accepted`);
  print('\n  faults injected');
  for (const f of [...report.faults].sort((a, b) => a.at - b.at))
    print(`    ${(f.at / 1000).toFixed(1).padStart(7)} s  ${f.fault.padEnd(28)} ${f.detail}`);
  print('\n  requests');
  for (const [what, n] of Object.entries(report.requests).sort()) print(`    ${String(n).padStart(7)}  ${what}`);
  print('\n  invariants');
  for (const i of report.invariants) print(`    ${i.ok ? 'ok  ' : 'FAIL'}  ${i.name}\n          ${i.detail}`);
  const ok = report.invariants.every((i) => i.ok);
  print(`\n  ${ok ? 'every invariant held' : `${report.invariants.filter((i) => !i.ok).length} invariant(s) violated`}`);
  return ok;
}
