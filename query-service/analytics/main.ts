import { runService } from '../../platform/service.js';
import { start } from './service.js';

/** The analytics process: the order funnel from Kafka and the daily anchors of the event log. */
await runService('analytics', start);
