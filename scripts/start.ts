import { loadConfig } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { Supervisor, type ServiceSpec } from '../platform/supervisor.js';
import { prepareSystem, repoRoot } from './prepare.js';

/**
 * `npm start`: makes sure PostgreSQL, Redis and Kafka answer, migrates, loads the demo catalog into an
 * empty catalog, then runs every service as its own process until Ctrl-C.
 */
const config = loadConfig();
const logger = createLogger('supervisor');
const say = (line: string) => console.log(`oms: ${line}`);

await prepareSystem(config, { startLocalServices: true, seed: config.seedDemoCatalog, say });

/**
 * Every service of the system, each its own process, with its share of PostgreSQL connections: the hot
 * paths get the most, and all of them together stay well under PostgreSQL's default 100 connections
 * (DB_POOL_SIZE, when set, applies to every service instead).
 */
const pool = (size: number): Record<string, string> =>
  process.env.DB_POOL_SIZE === undefined ? { DB_POOL_SIZE: String(size) } : {};
export const SERVICES: readonly ServiceSpec[] = [
  { name: 'gateway', script: `${repoRoot}dist/gateway/main.js` },
  { name: 'command-service', script: `${repoRoot}dist/command-service/main.js`, env: pool(10) },
  { name: 'query-service', script: `${repoRoot}dist/query-service/main.js`, env: pool(10) },
  { name: 'relay', script: `${repoRoot}dist/relay/main.js`, env: pool(4) },
  { name: 'saga-worker', script: `${repoRoot}dist/workers/saga/main.js`, env: pool(10) },
  { name: 'psp-sandbox', script: `${repoRoot}dist/simulators/psp/main.js` },
  { name: 'projector', script: `${repoRoot}dist/query-service/projector/main.js`, env: pool(6) },
  { name: 'router', script: `${repoRoot}dist/workers/router/main.js`, env: pool(4) },
  { name: 'fulfillment', script: `${repoRoot}dist/workers/fulfillment/main.js`, env: pool(6) },
  { name: 'tracking', script: `${repoRoot}dist/workers/tracking/main.js`, env: pool(3) },
  { name: 'changes', script: `${repoRoot}dist/workers/changes/main.js`, env: pool(4) },
  { name: 'wms-sandbox', script: `${repoRoot}dist/simulators/wms/main.js` },
  { name: 'carrier-sandbox', script: `${repoRoot}dist/simulators/carrier/main.js` },
];
// OMS_SERVICES=a,b,…: run only these (a benchmark of one pipeline, or a machine that runs only some).
const only = (process.env.OMS_SERVICES ?? '').split(',').filter((n) => n.length > 0);
const unknown = only.filter((n) => !SERVICES.some((s) => s.name === n));
if (unknown.length > 0) throw new Error(`OMS_SERVICES names unknown services: ${unknown.join(', ')}`);
const services = only.length === 0 ? SERVICES : SERVICES.filter((s) => only.includes(s.name));
const supervisor = new Supervisor(
  logger,
  (process.env.OMS_NODE_ARGS ?? '').split(' ').filter((arg) => arg.length > 0),
);
supervisor.start(services);
say(`running ${services.map((s) => s.name).join(', ')}; API on http://${config.host}:${config.port} (Ctrl-C stops)`);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  say(`${signal}: stopping every service`);
  void supervisor.stop().then(() => {
    say('stopped');
    process.exit(0);
  });
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
