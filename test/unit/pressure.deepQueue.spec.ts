import { expect } from 'chai';
import { DeepQueue } from '../../command-service/placementQueue.js';

describe('back pressure: when the placement queue counts as deep (command-service/placementQueue)', () => {
  it('is not pressure when one flush in a while starts with a clump of requests', () => {
    const queue = new DeepQueue();
    const seen = [30, 1, 2, 25, 0, 1, 40, 2].map((waiting) => queue.atFlush(waiting, 16));
    expect(seen).to.deep.equal([false, false, false, false, false, false, false, false]);
  });

  it('is pressure once 3 of the last 4 flushes started with a deep queue, and ends when it drains', () => {
    const queue = new DeepQueue();
    const seen = [20, 30, 5, 18, 25, 2, 1, 0].map((waiting) => queue.atFlush(waiting, 16));
    expect(seen).to.deep.equal([false, false, false, true, true, false, false, false]);
  });
});
