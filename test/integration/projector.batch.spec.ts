import { expect } from 'chai';

import type { StoredEvent } from '../../store/eventStore.js';
import { uuidv7 } from '../../platform/ids.js';
import { fold } from '../../query-service/projections/orderView/evolve.js';
import { projectBatch } from '../../query-service/projector/projectBatch.js';
import { testPool, uniqueId } from '../support/env.js';
import { prng, randomLifecycle, storeLifecycle } from '../support/lifecycles.js';

describe('projector: order views from batches of events (set-based, idempotent by seq)', function () {
  this.timeout(60_000);

  const store = storeLifecycle;

  const viewOf = async (orderId: string) =>
    (await testPool().query('SELECT version, status, doc FROM order_view WHERE order_id = $1', [orderId])).rows[0];

  it('for many orders delivered shuffled, duplicated and cut into batches (some racing), each view equals the fold of its events', async () => {
    const seed = 20261130;
    const random = prng(seed);
    const histories = new Map<string, StoredEvent[]>();
    for (let n = 0; n < 12; n++) {
      const orderId = uuidv7();
      histories.set(orderId, await store(orderId, randomLifecycle(random, uniqueId('cust'))));
    }
    // Given every event at least once, some twice, shuffled across orders.
    const all = [...histories.values()].flat();
    const deliveries = [...all, ...all.filter(() => random() < 0.3)];
    for (let i = deliveries.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
    }
    // When they are projected in batches of 1 to 20, two batches at a time.
    const batches: StoredEvent[][] = [];
    for (let at = 0; at < deliveries.length;) {
      const size = 1 + Math.floor(random() * 20);
      batches.push(deliveries.slice(at, at + size));
      at += size;
    }
    for (let i = 0; i < batches.length; i += 2) {
      const outcomes = await Promise.all(batches.slice(i, i + 2).map((batch) => projectBatch(testPool(), batch)));
      for (const outcome of outcomes) expect([...outcome.failed.keys()]).to.deep.equal([]);
    }
    // Then each view is the fold of all its events.
    for (const [orderId, events] of histories) {
      const row = await viewOf(orderId);
      expect(row?.doc, `seed ${seed}, order ${orderId}`).to.deep.equal(JSON.parse(JSON.stringify(fold(events))));
      expect(row?.version).to.equal(events.length);
    }
  });

  it('ignores duplicates and older events, and fills gaps from the event log in the same batch', async () => {
    const first = uuidv7();
    const second = uuidv7();
    const a = await store(first, randomLifecycle(prng(7), uniqueId('cust')));
    const b = await store(second, randomLifecycle(prng(8), uniqueId('cust')));
    expect(a.length).to.be.at.least(3);
    expect(b.length).to.be.at.least(3);

    // Given the first order's first event projected.
    expect((await projectBatch(testPool(), [a[0]!])).applied).to.equal(1);
    // When a batch holds the first order's first event again and its last, and the second order's
    // first and last events (its middle missing).
    const outcome = await projectBatch(testPool(), [a[0]!, a[a.length - 1]!, b[0]!, b[b.length - 1]!]);
    // Then both views are complete, from the event log.
    expect(outcome.applied).to.equal(2);
    expect([...outcome.gapFilled].sort()).to.deep.equal([first, second].sort());
    expect((await viewOf(first))?.version).to.equal(a.length);
    expect((await viewOf(second))?.version).to.equal(b.length);
    // And an older event changes nothing.
    expect((await projectBatch(testPool(), [a[1]!, b[1]!])).applied).to.equal(0);
    expect((await viewOf(first))?.doc).to.deep.equal(JSON.parse(JSON.stringify(fold(a))));
  });
});
