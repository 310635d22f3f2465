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

const services: ServiceSpec[] = [{ name: 'command-service', script: `${repoRoot}dist/command-service/main.js` }];
const supervisor = new Supervisor(logger);
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
