import { expect } from 'chai';
import { describeMissing, workerFreshness, type Heartbeat } from '../../platform/heartbeat.js';

describe('worker heartbeats: readiness wants a fresh beat of every expected kind', () => {
  const now = 1_700_000_000_000;
  const beat = (kind: string, instance: string, agoMs: number): Heartbeat => ({ kind, instance, at: now - agoMs });

  it('is ready when every expected kind has at least one fresh instance', () => {
    const result = workerFreshness(
      ['relay', 'saga-worker'],
      [beat('relay', 'a', 1_000), beat('saga-worker', 'a', 20_000), beat('saga-worker', 'b', 15_000)],
      now,
      15_000,
    );
    expect(result.missing).to.deep.equal([]);
    expect(result.fresh).to.deep.equal({ relay: 1, 'saga-worker': 1 });
  });

  it('names a kind whose beats are all older than the limit, with the age of the newest', () => {
    const result = workerFreshness(
      ['relay', 'saga-worker'],
      [beat('relay', 'a', 1), beat('saga-worker', 'a', 15_001)],
      now,
      15_000,
    );
    expect(result.missing).to.deep.equal([{ kind: 'saga-worker', lastSeenMsAgo: 15_001 }]);
    expect(describeMissing(result.missing)).to.equal('no heartbeat from saga-worker (last 15.0 s ago)');
  });

  it('names a kind never seen, and ignores kinds nobody expects', () => {
    const result = workerFreshness(['projector'], [beat('psp-sandbox', 'a', 0)], now, 15_000);
    expect(result.missing).to.deep.equal([{ kind: 'projector', lastSeenMsAgo: undefined }]);
    expect(describeMissing(result.missing)).to.equal('no heartbeat from projector (never seen)');
  });

  it('expects nothing when no worker kind is configured', () => {
    expect(workerFreshness([], [], now, 1).missing).to.deep.equal([]);
  });
});
