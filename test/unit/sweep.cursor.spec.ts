import { expect } from 'chai';
import { createUuidv7Generator } from '../../platform/ids.js';
import { createLogger } from '../../platform/logger.js';
import { nextCursor, Sweep, uuidv7Floor, type SweepWindow } from '../../platform/sweep.js';

describe('sweep: a bounded walk through time by UUIDv7 id', () => {
  const window: SweepWindow = { after: uuidv7Floor(0), scanLimit: 100, repairLimit: 10, graceMs: 0, statementTimeoutMs: 1_000 };

  it('bounds ids by time: the floor of a millisecond sorts before every id of it and after every earlier one', () => {
    const next = createUuidv7Generator();
    const at = Date.UTC(2026, 0, 1);
    const floor = uuidv7Floor(at);
    expect(floor).to.equal('019b76da-a800-0000-0000-000000000000');
    expect(next(at - 1) < floor).to.equal(true);
    expect(next(at) > floor).to.equal(true);
    expect(next(at + 1) > floor).to.equal(true);
  });

  it('goes on after the last row examined, starts over at the end, and stays behind repairs cut short', () => {
    expect(nextCursor(window, { upTo: 'b', examined: 100, candidates: ['a'] })).to.equal('b');
    expect(nextCursor(window, { upTo: 'b', examined: 40, candidates: ['a'] }), 'the end: start over').to.equal(undefined);
    expect(nextCursor(window, { upTo: null, examined: 0, candidates: [] })).to.equal(undefined);
    const ten = Array.from({ length: 10 }, (_, i) => `c${i}`);
    expect(nextCursor(window, { upTo: 'z', examined: 100, candidates: ten }), 'the rest looked at again').to.equal('c9');
  });

  it('passes the cursor along, never behind the lookback, and starts over when a pass reaches the end', async () => {
    const recent = createUuidv7Generator()(Date.now());
    const seen: string[] = [];
    const answers = [recent, undefined, '0190f0f0-0000-7000-8000-000000000001', undefined];
    const sweep = new Sweep(
      'test',
      { everyMs: 60_000, graceMs: 0, lookbackMs: 60_000, scanLimit: 10, repairLimit: 5, statementTimeoutMs: 1_000 },
      createLogger('sweep-test', 'silent'),
      async (w) => {
        seen.push(w.after);
        return { upTo: answers.shift(), repaired: 0 };
      },
    );
    const floorBefore = uuidv7Floor(Date.now() - 60_000);
    for (let i = 0; i < 4; i++) await sweep.runOnce();
    expect(seen[0]! >= floorBefore && seen[0]! < recent, 'the first pass starts at the lookback').to.equal(true);
    expect(seen[1]).to.equal(recent);
    expect(seen[2]! >= floorBefore && seen[2]! < recent, 'the end reached: from the lookback again').to.equal(true);
    // A cursor from 2024 is behind the lookback: the walk starts at the lookback instead.
    expect(seen[3]! >= floorBefore && seen[3]! < recent).to.equal(true);
  });
});
