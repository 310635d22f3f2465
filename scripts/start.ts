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

/** Every service of the system, each its own process. */
export const SERVICES: readonly ServiceSpec[] = [
  { name: 'gateway', script: `${repoRoot}dist/gateway/main.js` },
  { name: 'command-service', script: `${repoRoot}dist/command-service/main.js` },
  { name: 'query-service', script: `${repoRoot}dist/query-service/main.js` },
  { name: 'relay', script: `${repoRoot}dist/relay/main.js` },
  { name: 'saga-worker', script: `${repoRoot}dist/workers/saga/main.js` },
  { name: 'psp-sandbox', script: `${repoRoot}dist/simulators/psp/main.js` },
  { name: 'projector', script: `${repoRoot}dist/query-service/projector/main.js` },
  { name: 'router', script: `${repoRoot}dist/workers/router/main.js` },
  { name: 'fulfillment', script: `${repoRoot}dist/workers/fulfillment/main.js` },
  { name: 'tracking', script: `${repoRoot}dist/workers/tracking/main.js` },
  { name: 'changes', script: `${repoRoot}dist/workers/changes/main.js` },
  { name: 'wms-sandbox', script: `${repoRoot}dist/simulators/wms/main.js` },
  { name: 'carrier-sandbox', script: `${repoRoot}dist/simulators/carrier/main.js` },
];
const services = SERVICES;
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
