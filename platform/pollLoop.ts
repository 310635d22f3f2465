import type { Logger } from './logger.js';

/** What a tick may answer: when it has work again, if sooner than the loop's period. */
export interface NextTick {
  readonly dueInMs: number;
}

/**
 * Runs `tick` every `everyMs` (measured from the end of the previous tick, so ticks never overlap)
 * until stopped; a failing tick is logged and the loop goes on. A tick may return how long until it
 * has work again (sooner than everyMs: its next due time), and wake() runs the next tick at once (new
 * work arrived), so a loop can idle at a long everyMs without answering late. stop() waits for a tick
 * in progress.
 */
export class PollLoop {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private ticking = false;
  /** A wake() during a tick: the next tick follows at once. */
  private wokenDuringTick = false;
  private current: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly what: string,
    private readonly everyMs: number,
    private readonly tick: () => Promise<NextTick | unknown>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.running = true;
    this.schedule(this.everyMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.current;
  }

  /** Runs the next tick now (or right after the one in progress). */
  wake(): void {
    if (!this.running) return;
    if (this.ticking) {
      this.wokenDuringTick = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.ticking = true;
      this.wokenDuringTick = false;
      let next = this.everyMs;
      this.current = this.tick()
        .then((due) => {
          if (isNextTick(due)) next = Math.max(0, Math.min(due.dueInMs, this.everyMs));
        })
        .catch((error: unknown) => this.logger.warn({ err: error }, `${this.what} failed; trying again`))
        .finally(() => {
          this.ticking = false;
          this.schedule(this.wokenDuringTick ? 0 : next);
        });
    }, delayMs);
  }
}

function isNextTick(value: unknown): value is NextTick {
  return typeof value === 'object' && value !== null && typeof (value as Partial<NextTick>).dueInMs === 'number';
}
