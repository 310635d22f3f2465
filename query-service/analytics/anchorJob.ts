import type { Pool } from '../../platform/db.js';
import type { Logger } from '../../platform/logger.js';
import { PollLoop } from '../../platform/pollLoop.js';
import { anchorDay, unanchoredDays } from '../../store/audit.js';

/**
 * Anchors the event log once a day is over (issue 15): every `everyMs`, each UTC day before today that
 * has events and no anchor yet gets one (stored in audit_anchors, published on order-events). Several
 * projectors may run it: an anchor is written once (ON CONFLICT DO NOTHING) and never changes.
 */
export function anchorJob(pool: Pool, logger: Logger, everyMs: number): PollLoop {
  return new PollLoop(
    'daily audit anchor',
    everyMs,
    async () => {
      for (const day of await unanchoredDays(pool, new Date().toISOString().slice(0, 10))) {
        const { anchor, created } = await anchorDay(pool, day);
        if (created) logger.info({ day: anchor.day, events: anchor.events, hash: anchor.hash }, 'event log anchored');
      }
    },
    logger,
  );
}
