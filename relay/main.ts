import { runService } from '../platform/service.js';
import { start } from './service.js';

/** The relay process: outbox → Kafka `order-events` and Redis Streams. */
await runService('relay', start);
