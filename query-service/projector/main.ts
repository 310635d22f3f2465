import { runService } from '../../platform/service.js';
import { start } from './service.js';

/** The projector process: order events from Redis Streams into the query service's read tables. */
await runService('projector', start);
