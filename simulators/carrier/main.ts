import { runService } from '../../platform/service.js';
import { start } from './service.js';

/** The carrier tracking sandbox process (CARRIER_PORT). */
await runService('carrier-sandbox', start);
