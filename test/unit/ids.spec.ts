import { expect } from 'chai';
import { createUuidv7Generator, isUuidv7, uuidv7Time } from '../../platform/ids.js';

describe('UUIDv7 ids', () => {
  it('carry their creation time to the millisecond', () => {
    const at = Date.UTC(2026, 10, 26, 12, 34, 56, 789);
    const id = createUuidv7Generator()(at);
    expect(isUuidv7(id)).to.equal(true);
    expect(uuidv7Time(id).toISOString()).to.equal('2026-11-26T12:34:56.789Z');
  });

  it('sort in creation order, even many within one millisecond', () => {
    const next = createUuidv7Generator();
    const at = Date.now();
    const ids = Array.from({ length: 5000 }, () => next(at));
    expect([...ids].sort()).to.deep.equal(ids);
    expect(new Set(ids).size).to.equal(ids.length);
  });

  it('never go back in order when the clock steps back', () => {
    const next = createUuidv7Generator();
    const later = next(2_000_000_000_000);
    const earlier = next(1_000_000_000_000);
    expect(earlier > later).to.equal(true);
  });
});
