import { runService } from '../../platform/service.js';
import { start } from './service.js';

/** The changes worker process: cancellations and refunds. */
await runService('changes', start);
