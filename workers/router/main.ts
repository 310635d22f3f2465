import { runService } from '../../platform/service.js';
import { start } from './service.js';

/** The fulfillment router process. */
await runService('router', start);
