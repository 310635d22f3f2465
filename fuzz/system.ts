import { createApiKey } from '../platform/apiKeys.js';
import { makeTrackingNumber } from '../platform/carrierProtocol.js';
import { createPool, type Pool } from '../platform/db.js';
import { freePorts } from '../platform/http.js';
import { ensureDatabase, migrateLatest, quoteIdent } from '../platform/migrate.js';
import { startNode, type RunningProcess } from '../platform/nodeProcess.js';
import { createRedis } from '../platform/redis.js';
import { catchUp } from '../query-service/projections/orderView/rebuild.js';
import type { FuzzContext, Service } from './targets.js';

/** A service process the fuzzer started, with what it logged (pino lines parsed). */
export interface ServiceProcess extends RunningProcess {
  readonly name: Service;
  readonly url: string;
}

export interface FuzzSystem {
  readonly services: Readonly<Record<Service, ServiceProcess>>;
  /** An admin key in the run's schema: every request to the API sends it unless it sets Authorization itself. */
  readonly apiKey: string;
  /** On the system's schema; `schemas` are the ones its business tables live in (ours and the PSP's ledger). */
  readonly pool: Pool;
  readonly schemas: readonly string[];
  readonly context: FuzzContext;
  stop(): Promise<void>;
}

/**
 * The HTTP-facing part of the system as separate Node processes, the way `npm start` runs each service:
 * the API (command and query apps, api/main.ts), the PSP sandbox and the carrier sandbox, on a schema,
 * PSP ledger and Redis prefix of the run's own, removed by stop(). The workers are not started: they
 * only react to accepted requests, and without them nothing changes the database but the requests
 * themselves, so a change after a refused request is that request's doing.
 */
export async function startFuzzSystem(databaseUrl: string, log: (line: string) => void): Promise<FuzzSystem> {
  await ensureDatabase(databaseUrl);
  const id = `fuzz_${Date.now().toString(36)}_${process.pid.toString(36)}`;
  const schemas = [id, `${id}_psp`];
  await migrateLatest({ databaseUrl, schema: id });
  const [apiPort, pspPort, carrierPort] = await freePorts(3);
  const env = {
    DATABASE_URL: databaseUrl,
    DATABASE_SCHEMA: id,
    PSP_DATABASE_SCHEMA: `${id}_psp`,
    REDIS_PREFIX: `fuzz:${id}`,
    PORT: String(apiPort),
    PSP_PORT: String(pspPort),
    PSP_URL: `http://127.0.0.1:${pspPort}`,
    PSP_LATENCY_MS: '0',
    CARRIER_PORT: String(carrierPort),
    DB_POOL_SIZE: '4',
    LOG_LEVEL: 'warn',
    // No workers run here: readiness (/health) asks only for PostgreSQL, Redis and Kafka.
    READY_WORKERS: '',
  };
  const start = (name: Service, script: string, port: number): ServiceProcess => ({
    name,
    url: `http://127.0.0.1:${port}`,
    ...startNode(script, env),
  });
  const services: Record<Service, ServiceProcess> = {
    api: start('api', 'dist/api/main.js', apiPort as number),
    psp: start('psp', 'dist/simulators/psp/main.js', pspPort as number),
    carrier: start('carrier', 'dist/simulators/carrier/main.js', carrierPort as number),
  };
  const pool = createPool({ databaseUrl, schema: id, max: 2, applicationName: 'oms-fuzz' });
  const stop = async () => {
    await Promise.all(
      Object.values(services).map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.child.exitCode !== null || s.child.signalCode !== null) resolve();
            else {
              s.child.once('exit', () => resolve());
              s.child.kill('SIGTERM');
            }
          }),
      ),
    );
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(id)} CASCADE`).catch(() => undefined);
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(`${id}_psp`)} CASCADE`).catch(() => undefined);
    await pool.end();
    const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 'oms-fuzz-cleanup');
    const keys = await redis.keys(`${env.REDIS_PREFIX}:*`).catch(() => [] as string[]);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  };
  try {
    for (const service of Object.values(services)) await waitForHealth(service);
    log(
      `services up: ${Object.values(services)
        .map((s) => `${s.name} ${s.url} (pid ${s.child.pid})`)
        .join(', ')}`,
    );
    const apiKey = (await createApiKey(pool, { name: 'fuzz', channel: null, scopes: ['admin'] })).key;
    const context = await seed(services, pool, apiKey);
    return { services, apiKey, pool, schemas, context, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitForHealth(service: ServiceProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await fetch(`${service.url}/health`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (service.child.exitCode !== null)
      throw new Error(`${service.name} exited at start: ${JSON.stringify(service.lines.slice(-5))}`);
    if (Date.now() > deadline) throw new Error(`${service.name} did not answer /health within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function callWith(
  url: string,
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`seeding: ${method} ${url} answered ${res.status}: ${JSON.stringify(answer)}`);
  return answer;
}

/**
 * Things to aim at, made through the services themselves with valid requests: a warehouse with stock
 * of two products, a cart, two placed orders (their views folded from the event log, as the projector
 * would), and at the PSP an authorization with a capture.
 */
async function seed(services: Record<Service, ServiceProcess>, pool: Pool, apiKey: string): Promise<FuzzContext> {
  const api = services.api.url;
  const call = (url: string, method: string, body: unknown, headers: Record<string, string> = {}) =>
    callWith(url, method, body, url.startsWith(api) ? { Authorization: `Bearer ${apiKey}`, ...headers } : headers);
  const skus = ['FUZZ-MUG', 'FUZZ-TEA'];
  const warehouseIds = ['FUZZ-WH'];
  const customerIds = ['fuzz-customer'];
  await call(`${api}/api/v1/warehouses/FUZZ-WH`, 'PUT', {
    name: 'Fuzz warehouse',
    location: { lat: 51.5, lon: -0.1 },
    capacity_per_day: 1000,
    carriers: ['ups', 'dhl'],
  });
  for (const sku of skus) {
    await call(`${api}/api/v1/products/${sku}`, 'PUT', { name: `Fuzz ${sku}`, price: 1299, currency: 'USD' });
    await call(`${api}/api/v1/inventory/FUZZ-WH/${sku}`, 'PUT', { on_hand: 1000 });
  }
  const items = skus.map((sku, i) => ({ sku, quantity: i + 1 }));
  const cart = await call(`${api}/api/v1/carts`, 'POST', {
    customer_id: 'fuzz-customer',
    channel: 'web',
    currency: 'USD',
    items,
  });
  const orderIds: string[] = [];
  for (let i = 0; i < 2; i++) {
    const placed = await call(`${api}/api/v1/orders`, 'POST', {
      customer_id: 'fuzz-customer',
      channel: 'web',
      items,
      shipping_address: { name: 'Ada Lovelace', line1: '1 Main St', city: 'London', postal_code: 'SW1A 1AA', country: 'GB' },
      payment_method: { type: 'card', token: 'tok_visa' },
    });
    orderIds.push(String(placed.order_id));
  }
  await catchUp(pool, 'order_view');
  const itemIds = (
    await pool.query<{ item_id: string }>('SELECT item_id FROM order_items WHERE order_id = ANY($1::uuid[]) ORDER BY line_no', [
      orderIds,
    ])
  ).rows.map((r) => r.item_id);

  const psp = services.psp.url;
  const authorization = await call(
    `${psp}/v1/authorizations`,
    'POST',
    { amount: 10_000, currency: 'USD', token: 'tok_visa', reference: 'fuzz-reference' },
    { 'Idempotency-Key': 'fuzz-seed-authorization' },
  );
  const authorizationId = String(authorization.authorization_id);
  const capture = await call(
    `${psp}/v1/authorizations/${authorizationId}/captures`,
    'POST',
    { amount: 4_000 },
    { 'Idempotency-Key': 'fuzz-seed-capture' },
  );
  return {
    skus,
    warehouseIds,
    customerIds,
    orderIds,
    itemIds,
    cartIds: [String(cart.cart_id)],
    authorizationIds: [authorizationId],
    captureIds: [String(capture.capture_id)],
    trackingNumbers: [makeTrackingNumber('ups', Date.now() - 60_000), makeTrackingNumber('dhl', Date.now())],
  };
}
