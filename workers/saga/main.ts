import { runService } from '../../platform/service.js';
import { start } from './service.js';

/** The saga worker process. */
await runService('saga-worker', start);
