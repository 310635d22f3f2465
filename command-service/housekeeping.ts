import type { Config } from '../platform/config.js';
import type { Pool } from '../platform/db.js';
import { purgeExpiredIdempotencyKeys } from '../platform/idempotency.js';
import type { Logger } from '../platform/logger.js';
import { ensureOrderPartitions } from '../platform/orderPartitions.js';

/**
 * The write side's housekeeping: Idempotency-Keys live at least IDEMPOTENCY_TTL_HOURS, then go; order
 * partitions are kept ORDER_PARTITIONS_AHEAD_MONTHS ahead. Safe to run in several processes at once.
 * Returns a stop function.
 */
export function startHousekeeping(pool: Pool, config: Config, logger: Logger): () => void {
  const every = (ms: number, task: () => Promise<void>): NodeJS.Timeout => {
    const timer = setInterval(() => {
      task().catch((error: unknown) => logger.warn({ err: error }, 'housekeeping task failed'));
    }, ms);
    timer.unref();
    return timer;
  };
  const timers = [
    every(10 * 60_000, async () => {
      const purged = await purgeExpiredIdempotencyKeys(pool);
      if (purged > 0) logger.info({ purged }, 'expired idempotency keys purged');
    }),
    every(24 * 3_600_000, async () => {
      const created = await ensureOrderPartitions(pool, config.orderPartitionsAheadMonths);
      if (created > 0) logger.info({ created }, 'order partitions created');
    }),
  ];
  return () => timers.forEach(clearInterval);
}
