import { loadConfig } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { prettyDestination, printPretty, wantsPrettyLogs } from '../platform/prettyLogs.js';
import { Supervisor, type ServiceSpec } from '../platform/supervisor.js';
import { ensureDemoKeys } from './demoKeys.js';
import { prepareSystem, repoRoot, stopLocalKafka } from './prepare.js';

/**
 * `npm start`: makes sure PostgreSQL, Redis and Kafka answer, migrates, loads the demo catalog into an
 * empty catalog, then runs every service as its own process until Ctrl-C.
 */
const config = loadConfig();
// Human-readable logs on a terminal (pino-pretty), JSON lines otherwise (a file, a pipe, a log shipper).
const pretty = wantsPrettyLogs(config.logFormat, process.stdout.isTTY === true);
const logger = createLogger('supervisor', config.logLevel, pretty ? prettyDestination() : undefined);
const say = (line: string) => console.log(`oms: ${line}`);

const prepared = await prepareSystem(config, { startLocalServices: true, seed: config.seedDemoCatalog, say });
await ensureDemoKeys(config, config.demoKeysFile === '' ? `${repoRoot}.oms-demo-keys.json` : config.demoKeysFile, say);

/**
 * Every service of the system, each its own process, with its share of PostgreSQL connections: the hot
 * paths get the most, and all of them together stay well under PostgreSQL's default 100 connections
 * (DB_POOL_SIZE, when set, applies to every service instead).
 */
const pool = (size: number): Record<string, string> =>
  process.env.DB_POOL_SIZE === undefined ? { DB_POOL_SIZE: String(size) } : {};
/**
 * Under a burst, orders are taken and confirmed first: the API and the confirmation path behind it
 * (relay, saga worker, projector; OMS_PIPELINE_NICE, 0 by default) keep the CPU, and everything after
 * confirmation runs nicer (OMS_BACKGROUND_NICE, 15) and catches up when the burst is over (an idle CPU
 * still goes to it at once). Measured at 200 orders/s: p99 placement → confirmed 1.1–1.7 s with 5 / 10,
 * 0.56 s with 0 / 15.
 */
const pipeline = config.pipelineNice;
const background = config.backgroundNice;
export const SERVICES: readonly ServiceSpec[] = [
  // The command and query apps in one process on PORT (api/main.ts): one parse per request, no proxy hop.
  { name: 'api', script: `${repoRoot}dist/api/main.js`, env: pool(10) },
  { name: 'relay', script: `${repoRoot}dist/relay/main.js`, env: pool(3), nice: pipeline },
  { name: 'saga-worker', script: `${repoRoot}dist/workers/saga/main.js`, env: pool(10), nice: pipeline },
  // A partner stand-in: its answers must not wait for our own backlog, so it keeps the normal priority.
  { name: 'psp-sandbox', script: `${repoRoot}dist/simulators/psp/main.js` },
  // The read model is where a channel sees its order confirmed: it keeps up with the saga, not with fulfillment.
  { name: 'projector', script: `${repoRoot}dist/query-service/projector/main.js`, env: pool(4), nice: pipeline },
  { name: 'router', script: `${repoRoot}dist/workers/router/main.js`, env: pool(8), nice: background },
  { name: 'fulfillment', script: `${repoRoot}dist/workers/fulfillment/main.js`, env: pool(4), nice: background },
  { name: 'tracking', script: `${repoRoot}dist/workers/tracking/main.js`, env: pool(2), nice: background },
  { name: 'changes', script: `${repoRoot}dist/workers/changes/main.js`, env: pool(2), nice: background },
  // Outbound webhooks: never in the way of placement; a dead receiver holds only its own slots.
  { name: 'webhook-worker', script: `${repoRoot}dist/workers/webhooks/main.js`, env: pool(4), nice: background },
  // The order funnel and the event log's daily anchors: analytics, after everything else.
  { name: 'analytics', script: `${repoRoot}dist/query-service/analytics/main.js`, env: pool(2), nice: background },
  { name: 'wms-sandbox', script: `${repoRoot}dist/simulators/wms/main.js`, nice: background },
  { name: 'carrier-sandbox', script: `${repoRoot}dist/simulators/carrier/main.js`, nice: background },
];
// OMS_SERVICES=a,b,…: run only these (a benchmark of one pipeline, or a machine that runs only some).
const only = (process.env.OMS_SERVICES ?? '').split(',').filter((n) => n.length > 0);
const unknown = only.filter((n) => !SERVICES.some((s) => s.name === n));
if (unknown.length > 0) throw new Error(`OMS_SERVICES names unknown services: ${unknown.join(', ')}`);
const services = withMetricsPorts(
  withReplicas(only.length === 0 ? SERVICES : SERVICES.filter((s) => only.includes(s.name)), process.env.OMS_REPLICAS ?? ''),
  config.metricsBasePort,
).map((spec) =>
  // The API's readiness waits for the heartbeats of the workers that run here (unless READY_WORKERS says which).
  spec.name === 'api' && only.length > 0 && process.env.READY_WORKERS === undefined
    ? { ...spec, env: { ...spec.env, READY_WORKERS: config.readyWorkers.filter((worker) => only.includes(worker)).join(',') } }
    : spec,
);
/**
 * OMS_REPLICAS=name=n,…: n processes of a service side by side (they share the work through their
 * consumer groups and the database). The API's replicas share its port as API_WORKERS (node:cluster);
 * `command-service` and `query-service` name it too, since it serves both.
 */
function withReplicas(specs: readonly ServiceSpec[], setting: string): ServiceSpec[] {
  const replicas = new Map<string, number>();
  for (const part of setting.split(',').filter((p) => p.trim().length > 0)) {
    const [rawName, rawCount] = part.split('=');
    const name = ['command-service', 'query-service'].includes(rawName?.trim() ?? '') ? 'api' : (rawName?.trim() ?? '');
    const count = Number(rawCount);
    if (!specs.some((s) => s.name === name) || !Number.isInteger(count) || count < 1) {
      throw new Error(`OMS_REPLICAS: "${part}" must be <service>=<count> for a service that runs`);
    }
    replicas.set(name, Math.max(count, replicas.get(name) ?? 1));
  }
  return specs.flatMap((spec) => {
    const count = replicas.get(spec.name) ?? 1;
    if (spec.name === 'api') return [{ ...spec, env: { ...spec.env, API_WORKERS: String(count) } }];
    return Array.from({ length: count }, (_, i) => (i === 0 ? spec : { ...spec, name: `${spec.name}-${i + 1}` }));
  });
}

/**
 * METRICS_BASE_PORT, +1, +2, …: each process but the API (which serves /metrics on PORT) gets its own
 * METRICS_PORT, in the order it runs; 0 leaves them without one.
 */
function withMetricsPorts(specs: readonly ServiceSpec[], base: number): ServiceSpec[] {
  if (base === 0) return [...specs];
  let next = base;
  return specs.map((spec) => (spec.name === 'api' ? spec : { ...spec, env: { ...spec.env, METRICS_PORT: String(next++) } }));
}

const supervisor = new Supervisor(
  logger,
  (process.env.OMS_NODE_ARGS ?? '').split(' ').filter((arg) => arg.length > 0),
  pretty ? (output) => printPretty(output) : undefined,
);
supervisor.start(services);
say(`running ${services.map((s) => s.name).join(', ')}; API on http://${config.host}:${config.port} (Ctrl-C stops)`);
say(
  `metrics: api http://${config.host}:${config.port}/metrics` +
    services
      .filter((s) => s.env?.METRICS_PORT !== undefined)
      .map((s) => `, ${s.name} :${s.env?.METRICS_PORT}`)
      .join('') +
    `; readiness http://${config.host}:${config.port}/health/ready`,
);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  say(`${signal}: stopping every service`);
  void supervisor.stop().then(() => {
    // The broker this start brought up goes with it (OMS_KEEP_KAFKA=true keeps it for the next start).
    if (prepared.startedKafkaPort !== undefined && process.env.OMS_KEEP_KAFKA !== 'true')
      stopLocalKafka(prepared.startedKafkaPort);
    say('stopped');
    process.exit(0);
  });
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
