import type { Logger } from './logger.js';

/**
 * Runs `tick` every `everyMs` (measured from the end of the previous tick, so ticks never overlap)
 * until stopped; a failing tick is logged and the loop goes on. stop() waits for a tick in progress.
 */
export class PollLoop {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private current: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly what: string,
    private readonly everyMs: number,
    private readonly tick: () => Promise<unknown>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.running = true;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.current;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.current = this.tick()
        .catch((error: unknown) => this.logger.warn({ err: error }, `${this.what} failed; trying again`))
        .finally(() => this.schedule());
    }, this.everyMs);
  }
}
