import type { Pool } from '../../platform/db.js';
import type { Logger } from '../../platform/logger.js';
import type { PspClient } from '../../platform/psp.js';

/** What every saga step needs; time is passed in so tests can move it. */
export interface StepContext {
  readonly pool: Pool;
  readonly psp: PspClient;
  readonly logger: Logger;
  readonly now: () => Date;
  /** A running saga not touched for this long is picked up again by the due-saga poller. */
  readonly leaseMs: number;
}

export function leaseFrom(context: StepContext): Date {
  return new Date(context.now().getTime() + context.leaseMs);
}
