import { expect } from 'chai';
import { quantileBetween } from '../../platform/requestHistory.js';

describe('request history: latency quantiles between two samples of a histogram', () => {
  const sample = (count: number, buckets: Array<[number, number]>) => ({ count, buckets: new Map(buckets) });

  it('interpolates within the bucket that holds the rank, counting only what happened between the samples', () => {
    const before = sample(10, [
      [0.01, 10],
      [0.1, 10],
      [Infinity, 10],
    ]);
    // 100 more requests: 50 under 10 ms, 50 between 10 and 100 ms.
    const after = sample(110, [
      [0.01, 60],
      [0.1, 110],
      [Infinity, 110],
    ]);
    expect(quantileBetween(before, after, 0.5)).to.equal(10);
    expect(quantileBetween(before, after, 0.95)).to.equal(91);
  });

  it('answers null without requests, and the last finite bound when the rank lies beyond it', () => {
    const same = sample(5, [
      [0.01, 5],
      [Infinity, 5],
    ]);
    expect(quantileBetween(same, same, 0.5)).to.equal(null);
    const slow = sample(7, [
      [0.01, 5],
      [Infinity, 7],
    ]);
    expect(quantileBetween(same, slow, 0.95)).to.equal(10);
  });
});
