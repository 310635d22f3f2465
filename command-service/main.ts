import { runService } from '../platform/service.js';
import { start } from './service.js';

/** The command service process: the write API on COMMAND_PORT. */
await runService('command-service', start);
