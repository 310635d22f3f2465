import { runService } from '../platform/service.js';
import { start } from './service.js';

/** The query service process: the read API on QUERY_PORT, from the read tables only. */
await runService('query-service', start);
