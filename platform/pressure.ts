import type { Redis } from './redis.js';

/**
 * Back pressure from the front to the stages behind it, through Redis so that every replica sees it.
 * While the API has more placements waiting than a flush normally takes, it raises the signal (a key
 * that expires holdMs later unless raised again); the workers behind it then read less often, in bigger
 * batches, and leave the CPU to taking orders. They are slowed, never stopped: a burst is confirmed
 * soon after it ends, and a steady load never raises the signal.
 */
export function pressureKey(prefix: string): string {
  return `${prefix}:pressure`;
}

/** The front's side: raises the signal, at most once per a third of its hold time. */
export class PressureSignal {
  private raisedAt = -Infinity;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly holdMs: number,
  ) {}

  raise(): void {
    const now = performance.now();
    if (now - this.raisedAt < this.holdMs / 3) return;
    this.raisedAt = now;
    // Best effort: a signal that cannot be raised only leaves the workers at their usual pace.
    this.redis.set(this.key, '1', 'PX', this.holdMs).catch(() => undefined);
  }
}

/**
 * A worker's side: whether the signal is up (asked of Redis at most once per `cacheMs`), and so how far
 * apart its reads are: `slowReadIntervalMs` while it is up, its usual interval otherwise.
 */
export class PressureGauge {
  private checkedAt = -Infinity;
  private up = false;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly slowReadIntervalMs: number,
    private readonly cacheMs = 100,
  ) {}

  /** The least time between two reads now, for a reader whose usual interval is `usualMs`. */
  async readIntervalMs(usualMs: number): Promise<number> {
    return (await this.underPressure()) ? Math.max(usualMs, this.slowReadIntervalMs) : usualMs;
  }

  async underPressure(): Promise<boolean> {
    const now = performance.now();
    if (now - this.checkedAt >= this.cacheMs) {
      this.checkedAt = now;
      this.up = await this.redis.exists(this.key).then(
        (n) => n > 0,
        () => false,
      );
    }
    return this.up;
  }
}
