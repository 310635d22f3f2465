import { expect } from 'chai';
import { withTransaction, type PoolClient } from '../../platform/db.js';
import { uuidv7 } from '../../platform/ids.js';
import { main as audit } from '../../scripts/audit.js';
import { anchorDay, computeAnchor, verifyChainPage } from '../../store/audit.js';
import { appendToOrders } from '../../store/eventStore.js';
import { testPool, uniqueId } from '../support/env.js';
import { untypedEvent } from '../support/untypedEvent.js';

const ZERO = '00000000-0000-0000-0000-000000000000';

/** A new order whose history is `count` events, appended in two statements (the second one batched with others). */
async function orderWithHistory(count: number): Promise<string> {
  const orderId = uuidv7();
  await testPool().query(
    `INSERT INTO orders (order_id, customer_id, channel, status, version, total_amount, currency, shipping_address, payment_method, created_at)
     VALUES ($1, $2, 'web', 'placed', 0, 100, 'USD', '{}', '{"type":"card"}', uuid7_time($1))`,
    [orderId, uniqueId('audit')],
  );
  await withTransaction(testPool(), (tx) =>
    appendToOrders(tx, [
      { orderId, events: [untypedEvent('test.first', { n: 1 }), untypedEvent('test.second', { n: 2, text: 'é ü 東京' })] },
    ]),
  );
  await withTransaction(testPool(), (tx) =>
    appendToOrders(tx, [
      { orderId, events: Array.from({ length: count - 2 }, (_, i) => untypedEvent('test.more', { n: i + 3 })) },
    ]),
  );
  return orderId;
}

const check = (db: PoolClient | ReturnType<typeof testPool>, orderId: string) =>
  verifyChainPage(db, { afterOrderId: ZERO, pageSize: 10, orderId });

/** Runs `tamper` as the owner with the append-only trigger off, checks, and rolls everything back. */
async function tampered(orderId: string, tamper: (tx: PoolClient) => Promise<unknown>) {
  const client = await testPool().connect();
  try {
    await client.query('BEGIN');
    await client.query('ALTER TABLE order_events DISABLE TRIGGER order_events_append_only');
    await tamper(client);
    return await check(client, orderId);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

describe('the event log proves itself: a hash chain per order and daily anchors (store/audit, npm run audit)', () => {
  it('chains every event to its predecessor as it is written, batched appends included', async () => {
    const orderId = await orderWithHistory(5);
    const { rows } = await testPool().query<{ seq: number; prev: string; hash: string }>(
      `SELECT seq, encode(prev_hash, 'hex') AS prev, encode(hash, 'hex') AS hash FROM order_events WHERE order_id = $1 ORDER BY seq`,
      [orderId],
    );
    expect(rows.map((r) => r.seq)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(rows[0]!.prev).to.equal('0'.repeat(64));
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev).to.equal(rows[i - 1]!.hash);
    expect(new Set(rows.map((r) => r.hash)).size).to.equal(5);
    expect(await check(testPool(), orderId)).to.deep.include({ orders: 1, events: 5, broken: [] });
  });

  it('finds and names an event altered, removed, reordered or cut off the end, even by the owner past the trigger', async () => {
    const orderId = await orderWithHistory(5);
    const altered = await tampered(orderId, (tx) =>
      tx.query(`UPDATE order_events SET payload = '{"n": 99}' WHERE order_id = $1 AND seq = 2`, [orderId]),
    );
    expect(altered.broken.map((b) => [b.seq, b.kind])).to.deep.equal([[2, 'altered']]);

    const removed = await tampered(orderId, (tx) =>
      tx.query('DELETE FROM order_events WHERE order_id = $1 AND seq = 3', [orderId]),
    );
    expect(removed.broken.map((b) => [b.seq, b.kind])).to.deep.equal([[4, 'removed before']]);

    const reordered = await tampered(orderId, async (tx) => {
      // Events 4 and 5 swap places (through a free seq: (order_id, seq) is unique).
      await tx.query('UPDATE order_events SET seq = 1000 WHERE order_id = $1 AND seq = 4', [orderId]);
      await tx.query('UPDATE order_events SET seq = 4 WHERE order_id = $1 AND seq = 5', [orderId]);
      await tx.query('UPDATE order_events SET seq = 5 WHERE order_id = $1 AND seq = 1000', [orderId]);
    });
    expect(reordered.broken.map((b) => [b.seq, b.kind])).to.deep.equal([
      [4, 'link broken'],
      [4, 'altered'],
      [5, 'link broken'],
      [5, 'altered'],
    ]);

    const rehashed = await tampered(orderId, async (tx) => {
      // A forger who rewrites an event and its own hash still breaks the next link.
      await tx.query(
        `UPDATE order_events SET payload = '{"n": 7}', hash = order_event_hash(prev_hash, event_id, order_id, seq, type, '{"n": 7}', occurred_at)
          WHERE order_id = $1 AND seq = 2`,
        [orderId],
      );
    });
    expect(rehashed.broken.map((b) => [b.seq, b.kind])).to.deep.equal([[3, 'link broken']]);

    const cut = await tampered(orderId, (tx) => tx.query('DELETE FROM order_events WHERE order_id = $1 AND seq = 5', [orderId]));
    expect(cut.broken.map((b) => [b.seq, b.kind])).to.deep.equal([[5, 'removed at the end']]);

    // Untouched after all that (each tampering was rolled back).
    expect((await check(testPool(), orderId)).broken).to.deep.equal([]);
  });

  it('chains correctly when many writers append to the same orders at once', async () => {
    const orders = await Promise.all([orderWithHistory(2), orderWithHistory(2), orderWithHistory(2)]);
    await Promise.all(
      Array.from({ length: 8 }, (_, writer) =>
        withTransaction(testPool(), (tx) =>
          appendToOrders(
            tx,
            orders.map((orderId) => ({ orderId, events: [untypedEvent('test.concurrent', { writer })] })),
          ),
        ),
      ),
    );
    for (const orderId of orders) expect(await check(testPool(), orderId)).to.deep.include({ events: 10, broken: [] });
  });

  it('anchors a day once, and the anchor no longer holds when history of that day changes', async () => {
    await orderWithHistory(3);
    const day = new Date().toISOString().slice(0, 10);
    const first = await anchorDay(testPool(), day);
    const again = await anchorDay(testPool(), day);
    expect(again).to.deep.equal({ anchor: first.anchor, created: false });
    const published = await testPool().query(`SELECT payload FROM outbox WHERE aggregatetype = 'audit' AND aggregateid = $1`, [
      day,
    ]);
    if (first.created) expect(published.rows).to.have.length(1);
    const client = await testPool().connect();
    try {
      await client.query('BEGIN');
      await client.query('ALTER TABLE order_events DISABLE TRIGGER order_events_append_only');
      await client.query(
        `DELETE FROM order_events WHERE event_id = (SELECT event_id FROM order_events WHERE occurred_at::date = $1::date ORDER BY event_id DESC LIMIT 1)`,
        [day],
      );
      expect((await computeAnchor(client, day)).hash).to.not.equal(first.anchor.hash);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('npm run audit -- verify exits 0 on an intact chain and 1 naming the broken link', async () => {
    const intact = await orderWithHistory(3);
    const lines: string[] = [];
    expect(await audit(['verify', '--order', intact], (l) => lines.push(l), testPool())).to.equal(0);
    expect(lines.at(-1)).to.equal('every chain intact: 1 orders, 3 events');

    const broken = await orderWithHistory(3);
    await withTransaction(testPool(), async (tx) => {
      await tx.query('ALTER TABLE order_events DISABLE TRIGGER order_events_append_only');
      await tx.query(`UPDATE order_events SET type = 'test.forged' WHERE order_id = $1 AND seq = 2`, [broken]);
      await tx.query('ALTER TABLE order_events ENABLE TRIGGER order_events_append_only');
    });
    lines.length = 0;
    expect(await audit(['verify', '--order', broken], (l) => lines.push(l), testPool())).to.equal(1);
    expect(lines[0]).to.match(new RegExp(`^BROKEN order ${broken} seq 2 \\(event [0-9a-f-]+\\): altered`));
    expect(await audit(['verify', '--order', 'not-an-id'], () => undefined, testPool())).to.equal(2);
  });
});
