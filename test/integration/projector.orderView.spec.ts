import { expect } from 'chai';

import type { StoredEvent } from '../../store/eventStore.js';
import { uuidv7 } from '../../platform/ids.js';
import { fold } from '../../query-service/projections/orderView/evolve.js';
import { projectEvent } from '../../query-service/projections/orderView/project.js';
import { testPool, uniqueId } from '../support/env.js';
import { prng, randomLifecycle, storeLifecycle } from '../support/lifecycles.js';

describe('projector: order view from events (idempotent by seq)', function () {
  this.timeout(60_000);

  const store = storeLifecycle;

  const project = (event: StoredEvent) => projectEvent(testPool(), event);
  const viewOf = async (orderId: string) =>
    (await testPool().query('SELECT version, status, doc FROM order_view WHERE order_id = $1', [orderId])).rows[0];

  it('for random lifecycles delivered shuffled and duplicated, the view equals the fold of the events', async () => {
    const seed = 20261126;
    const random = prng(seed);
    for (let round = 0; round < 30; round++) {
      const orderId = uuidv7();
      const events = await store(orderId, randomLifecycle(random, uniqueId('cust')));
      // Deliveries: every event at least once, some twice, in a shuffled order.
      const deliveries = [...events, ...events.filter(() => random() < 0.3)];
      for (let i = deliveries.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
      }
      for (const delivery of deliveries) await project(delivery);
      const row = await viewOf(orderId);
      const expected = JSON.parse(JSON.stringify(fold(events)));
      expect(row?.doc, `seed ${seed}, round ${round}`).to.deep.equal(expected);
      expect(row?.version).to.equal(events.length);
    }
  });

  it('ignores a duplicate and an older event, and fills a gap from the event log', async () => {
    const orderId = uuidv7();
    const events = await store(orderId, randomLifecycle(prng(7), uniqueId('cust')));
    expect(await project(events[0]!)).to.equal('applied');
    expect(await project(events[0]!)).to.equal('duplicate');
    const last = events[events.length - 1]!;
    expect(await project(last)).to.equal('gap-filled');
    expect(await project(events[1]!)).to.equal('duplicate');
    expect((await viewOf(orderId))?.version).to.equal(events.length);
  });
});
