/** Lets loops sleep until woken (a NOTIFY, new work) or until a timeout, whichever comes first. */
export class Wakeup {
  private waiters = new Set<() => void>();
  private pending = false;

  /** Wakes every waiter now; a wake with nobody waiting is remembered once. */
  wake(): void {
    if (this.waiters.size === 0) {
      this.pending = true;
      return;
    }
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const resolve of waiters) resolve();
  }

  wait(timeoutMs: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }
}
