import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createUuidv7Generator } from '../../platform/ids.js';
import { isNewOrder } from '../../query-service/projections/orderView/queries.js';

describe('which order ids a read waits for (a 404 at once for the rest)', () => {
  const now = Date.UTC(2026, 5, 30, 12);
  const v7At = (ms: number) => createUuidv7Generator()(ms);

  it('a UUIDv7 minted in the last seconds: the projector may not have reached it yet', () => {
    expect(isNewOrder(v7At(now), now)).to.equal(true);
    expect(isNewOrder(v7At(now - 9_000), now)).to.equal(true);
    expect(isNewOrder(v7At(now + 500), now)).to.equal(true); // another process's clock, a little ahead
  });

  it('an older UUIDv7, one from the future, or any other version: no wait', () => {
    expect(isNewOrder(v7At(now - 11_000), now)).to.equal(false);
    expect(isNewOrder(v7At(now + 60_000), now)).to.equal(false);
    expect(isNewOrder(v7At(Date.UTC(2100, 0, 1)), now)).to.equal(false);
    expect(isNewOrder(randomUUID(), now)).to.equal(false);
    expect(isNewOrder('ffffffff-ffff-4fff-bfff-ffffffffffff', now)).to.equal(false);
  });
});
