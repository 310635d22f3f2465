import { runService } from '../../platform/service.js';
import { start } from './service.js';

/** The WMS sandbox process: Kafka in (order events), Kafka out (WMS_EVENTS topic), its own schema. */
await runService('wms-sandbox', start);
