import { runService } from '../../platform/service.js';
import { start } from './service.js';

/** The tracking aggregator process: polls the carriers for shipments on their way. */
await runService('tracking', start);
