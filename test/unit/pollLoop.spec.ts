import { expect } from 'chai';
import { createLogger } from '../../platform/logger.js';
import { PollLoop, type NextTick } from '../../platform/pollLoop.js';
import { eventually } from '../support/env.js';

describe('poll loop: idles at its period, runs sooner when a tick says so or when woken', () => {
  const logger = createLogger('test-poll-loop', 'silent');

  it('runs the next tick at once when woken, though its period is long', async () => {
    let ticks = 0;
    const loop = new PollLoop('test', 60_000, async () => void ticks++, logger);
    loop.start();
    try {
      loop.wake();
      await eventually('a tick after wake()', async () => (ticks === 1 ? true : undefined), 2_000, 5);
      loop.wake();
      await eventually('another tick after wake()', async () => (ticks === 2 ? true : undefined), 2_000, 5);
    } finally {
      await loop.stop();
    }
  });

  it('takes the delay a tick answers when it is shorter than the period, and a wake during a tick is not lost', async () => {
    let ticks = 0;
    let release: (() => void) | undefined;
    const loop = new PollLoop(
      'test',
      60_000,
      async (): Promise<NextTick> => {
        ticks++;
        // The third tick waits until the test wakes the loop during it.
        if (ticks === 3) await new Promise<void>((resolve) => (release = resolve));
        return { dueInMs: ticks < 3 ? 0 : 60_000 };
      },
      logger,
    );
    loop.start();
    try {
      loop.wake();
      // Given ticks answering "due now", they follow each other without waiting for the period.
      await eventually('the third tick running', async () => (release !== undefined ? true : undefined), 2_000, 5);
      // When woken while the third tick runs (which answers "not due for a minute").
      loop.wake();
      release?.();
      // Then a fourth tick follows at once anyway, and no other.
      await eventually('a tick after the wake during a tick', async () => (ticks === 4 ? true : undefined), 2_000, 5);
      expect(ticks).to.equal(4);
    } finally {
      await loop.stop();
    }
  });
});
