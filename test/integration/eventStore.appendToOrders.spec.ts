import { expect } from 'chai';
import { withTransaction } from '../../platform/db.js';
import { appendToOrders } from '../../store/eventStore.js';
import { uuidv7 } from '../../platform/ids.js';
import { testPool, uniqueId } from '../support/env.js';
import { untypedEvent } from '../support/untypedEvent.js';

async function newOrder(version: number): Promise<string> {
  const orderId = uuidv7();
  await testPool().query(
    `INSERT INTO orders (order_id, customer_id, channel, status, version, total_amount, currency, shipping_address, payment_method, created_at)
     VALUES ($1, $2, 'web', 'placed', $3, 100, 'USD', '{}', '{"type":"card"}', uuid7_time($1))`,
    [orderId, uniqueId('es'), version],
  );
  return orderId;
}

describe('appending the events of many orders in one statement (eventStore.appendToOrders)', () => {
  it('numbers the events of each order after its own version, bumps versions, sets statuses, and writes the outbox', async () => {
    const [a, b, c] = [await newOrder(1), await newOrder(4), await newOrder(2)];
    const written = await withTransaction(testPool(), (tx) =>
      appendToOrders(tx, [
        {
          orderId: a,
          events: [untypedEvent('test.one', { n: 1 }), untypedEvent('test.two', { n: 2 })],
          status: 'confirmed',
        },
        { orderId: b, events: [untypedEvent('test.one', { n: 3 })] },
        { orderId: c, events: [] },
      ]),
    );
    expect(written.get(a)?.map((e) => e.seq)).to.deep.equal([2, 3]);
    expect(written.get(b)?.map((e) => e.seq)).to.deep.equal([5]);
    expect(written.has(c)).to.equal(false);

    const orders = await testPool().query<{ order_id: string; version: number; status: string }>(
      'SELECT order_id, version, status::text FROM orders WHERE order_id = ANY($1::uuid[])',
      [[a, b, c]],
    );
    const byId = new Map(orders.rows.map((r) => [r.order_id, r]));
    expect(byId.get(a)).to.include({ version: 3, status: 'confirmed' });
    expect(byId.get(b)).to.include({ version: 5, status: 'placed' });
    expect(byId.get(c)).to.include({ version: 2, status: 'placed' });

    const events = await testPool().query<{ order_id: string; seq: number; type: string; outbox_seq: number }>(
      `SELECT e.order_id, e.seq, e.type, (o.payload->>'seq')::int AS outbox_seq
         FROM order_events e JOIN outbox o ON o.id = e.event_id WHERE e.order_id = ANY($1::uuid[]) ORDER BY e.order_id, e.seq`,
      [[a, b]],
    );
    expect(events.rows.map((r) => [r.order_id, r.seq, r.type, r.outbox_seq])).to.deep.equal(
      [
        [a, 2, 'test.one', 2],
        [a, 3, 'test.two', 3],
        [b, 5, 'test.one', 5],
      ].sort((x, y) => (String(x[0]) < String(y[0]) ? -1 : String(x[0]) > String(y[0]) ? 1 : Number(x[1]) - Number(y[1]))),
    );
  });

  it('writes nothing when one of the orders does not exist', async () => {
    const a = await newOrder(1);
    const missing = uuidv7();
    let failed: unknown;
    await withTransaction(testPool(), (tx) =>
      appendToOrders(tx, [
        { orderId: a, events: [untypedEvent('test.one', {})] },
        { orderId: missing, events: [untypedEvent('test.one', {})] },
      ]),
    ).catch((error: unknown) => {
      failed = error;
    });
    expect(String(failed)).to.contain(missing);
    const versions = await testPool().query<{ version: number }>('SELECT version FROM orders WHERE order_id = $1', [a]);
    expect(versions.rows[0]?.version).to.equal(1);
  });
});
