import type { Party } from '../../domain/invoice.js';
import type { Pool } from '../../platform/db.js';
import type { Logger } from '../../platform/logger.js';
import type { PspClient } from '../../platform/psp.js';

/** What the change sagas need. */
export interface ChangeContext {
  readonly pool: Pool;
  readonly psp: PspClient;
  readonly logger: Logger;
  readonly seller: Party;
  /** A running saga untouched this long is driven again by the due poller (its worker died). */
  readonly leaseMs: number;
  /** How long an edit waits for a PSP that does not answer before it gives up and undoes itself. */
  readonly pspRetryDeadlineMs: number;
  /** The workflows' clock (tests may move it); the system clock by default. */
  readonly now?: () => Date;
}

/** What one step did: moved on (drive again now), wait for something (driven again later), or finished. */
export type StepOutcome = 'progressed' | 'waiting' | 'done';
