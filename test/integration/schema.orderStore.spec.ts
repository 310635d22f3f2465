import { expect } from 'chai';
import { appendOrderEvents } from '../../store/eventStore.js';
import { createUuidv7Generator, uuidv7 } from '../../platform/ids.js';
import { withTransaction } from '../../platform/db.js';
import { testPool } from '../support/env.js';
import { untypedEvent } from '../support/untypedEvent.js';

describe('order store (PostgreSQL schema)', () => {
  it('refuses UPDATE, DELETE and TRUNCATE on order_events', async () => {
    const pool = testPool();
    const orderId = uuidv7();
    await withTransaction(pool, (tx) => appendOrderEvents(tx, orderId, 0, [untypedEvent('test.happened', { n: 1 })]));

    for (const statement of [
      `UPDATE order_events SET payload = '{"n":2}' WHERE order_id = $1`,
      `DELETE FROM order_events WHERE order_id = $1`,
    ]) {
      let refused: unknown;
      await pool.query(statement, [orderId]).catch((error: unknown) => (refused = error));
      expect(String(refused)).to.match(/append-only/);
    }
    let truncateRefused: unknown;
    await pool.query('TRUNCATE order_events').catch((error: unknown) => (truncateRefused = error));
    expect(String(truncateRefused)).to.match(/append-only/);

    const rows = await pool.query('SELECT payload FROM order_events WHERE order_id = $1', [orderId]);
    expect(rows.rows).to.deep.equal([{ payload: { n: 1 } }]);
  });

  it('numbers events per order and refuses a second writer of the same seq', async () => {
    const pool = testPool();
    const orderId = uuidv7();
    await withTransaction(pool, (tx) => appendOrderEvents(tx, orderId, 0, [untypedEvent('a', {}), untypedEvent('b', {})]));
    let conflict: unknown;
    await withTransaction(pool, (tx) => appendOrderEvents(tx, orderId, 1, [untypedEvent('c', {})])).catch(
      (error: unknown) => (conflict = error),
    );
    expect((conflict as { code?: string }).code).to.equal('23505');
    const rows = await pool.query('SELECT seq, type FROM order_events WHERE order_id = $1 ORDER BY seq', [orderId]);
    expect(rows.rows).to.deep.equal([
      { seq: 1, type: 'a' },
      { seq: 2, type: 'b' },
    ]);
  });

  it('writes each event to the outbox in Debezium outbox-router shape with its transaction id', async () => {
    const pool = testPool();
    const orderId = uuidv7();
    const [event] = await withTransaction(pool, (tx) =>
      appendOrderEvents(tx, orderId, 0, [untypedEvent('order.placed', { x: 1 })]),
    );
    const row = (
      await pool.query('SELECT id, aggregatetype, aggregateid, type, payload, tx_id::text FROM outbox WHERE id = $1', [
        event?.event_id,
      ])
    ).rows[0];
    expect(row).to.include({ id: event?.event_id, aggregatetype: 'order', aggregateid: orderId, type: 'order.placed' });
    expect(row.payload).to.deep.include({
      event_id: event?.event_id,
      order_id: orderId,
      seq: 1,
      type: 'order.placed',
      payload: { x: 1 },
    });
    expect(Number(row.tx_id)).to.be.greaterThan(0);
    expect(row.payload.occurred_at)
      .to.equal(event?.occurred_at)
      .and.to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("puts an order in its month's partition, found by id through partition pruning", async () => {
    const pool = testPool();
    const cases = [
      { at: Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1, 0, 0, 0, 0), monthOffset: 0 },
      { at: Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 15), monthOffset: 1 },
      { at: Date.UTC(2001, 0, 1), monthOffset: null },
    ];
    for (const { at, monthOffset } of cases) {
      const orderId = createUuidv7Generator()(at);
      await pool.query(
        `INSERT INTO orders (order_id, customer_id, channel, total_amount, currency, shipping_address, payment_method, created_at)
         VALUES ($1, 'partition-test', 'web', 0, 'USD', '{}', '{}', uuid7_time($1))`,
        [orderId],
      );
      const where = await pool.query(
        'SELECT tableoid::regclass::text AS partition FROM orders WHERE order_id = $1 AND created_at = uuid7_time($1)',
        [orderId],
      );
      const d = new Date(at);
      const expected =
        monthOffset === null ? 'orders_default' : `orders_y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
      expect(where.rows[0]?.partition).to.equal(expected);

      const plan = await pool.query(`EXPLAIN SELECT * FROM orders WHERE order_id = $1 AND created_at = uuid7_time($1)`, [
        orderId,
      ]);
      const text = plan.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
      expect(text.match(/on orders_/g) ?? [], text).to.have.length(1);
    }
  });

  it('refuses an order whose created_at is not the time its UUIDv7 id carries', async () => {
    let refused: unknown;
    await testPool()
      .query(
        `INSERT INTO orders (order_id, customer_id, channel, total_amount, currency, shipping_address, payment_method, created_at)
         VALUES ($1, 'partition-test', 'web', 0, 'USD', '{}', '{}', now() - interval '1 day')`,
        [uuidv7()],
      )
      .catch((error: unknown) => (refused = error));
    expect(String(refused)).to.match(/orders_created_at_is_id_time/);
  });
});
