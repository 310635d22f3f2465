import { runService } from '../../platform/service.js';
import { start } from './service.js';

/** The PSP sandbox process: its own HTTP port (PSP_PORT) and its own schema (PSP_DATABASE_SCHEMA). */
await runService('psp-sandbox', start);
