import { runService } from '../../platform/service.js';
import { start } from './service.js';

/** The fulfillment worker process: WMS answers in, shipments, captures and invoices out. */
await runService('fulfillment', start);
