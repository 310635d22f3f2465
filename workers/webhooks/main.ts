import { runService } from '../../platform/service.js';
import { start } from './service.js';

/** The webhook worker process: order events from Kafka in, signed webhooks out. */
await runService('webhook-worker', start);
