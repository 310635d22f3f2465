import { expect } from 'chai';
import { withTransaction } from '../../platform/db.js';
import { uuidv7 } from '../../platform/ids.js';
import { consume, moveReserved, release, reserve, type StockLine } from '../../store/stock.js';
import { createCatalog } from '../support/catalog.js';
import { testPool, uniqueId } from '../support/env.js';

/** on_hand and reserved of each (warehouse, sku), keyed `warehouse/sku`. */
async function stockOf(warehouses: readonly string[]): Promise<Record<string, { on_hand: number; reserved: number }>> {
  const rows = await testPool().query<{ warehouse_id: string; sku: string; on_hand: number; reserved: number }>(
    'SELECT warehouse_id, sku, on_hand, reserved FROM inventory WHERE warehouse_id = ANY($1::text[])',
    [warehouses],
  );
  return Object.fromEntries(rows.rows.map((r) => [`${r.warehouse_id}/${r.sku}`, { on_hand: r.on_hand, reserved: r.reserved }]));
}

/** An order with one line per SKU (10 units each), for reservation rows to point at. */
async function newOrder(skus: readonly string[]): Promise<{ orderId: string; items: string[] }> {
  const orderId = uuidv7();
  await testPool().query(
    `INSERT INTO orders (order_id, customer_id, channel, status, version, total_amount, currency, shipping_address, payment_method, created_at)
     VALUES ($1, $2, 'web', 'placed', 1, 100, 'USD', '{}', '{"type":"card"}', uuid7_time($1))`,
    [orderId, uniqueId('stock')],
  );
  const items = skus.map(() => uuidv7());
  await testPool().query(
    `INSERT INTO order_items (item_id, order_id, order_created_at, line_no, sku, quantity, unit_price)
     SELECT i, $1, uuid7_time($1), n, s, 10, 100 FROM unnest($2::uuid[], $3::text[]) WITH ORDINALITY AS t(i, s, n)`,
    [orderId, items, skus],
  );
  return { orderId, items };
}

/** Held reservations of the order, per `warehouse/sku`. */
async function heldOf(orderId: string): Promise<Record<string, number>> {
  const rows = await testPool().query<{ warehouse_id: string; sku: string; quantity: number }>(
    `SELECT warehouse_id, sku, sum(quantity)::int AS quantity FROM reservations
      WHERE order_id = $1 AND status = 'held' GROUP BY warehouse_id, sku`,
    [orderId],
  );
  return Object.fromEntries(rows.rows.map((r) => [`${r.warehouse_id}/${r.sku}`, r.quantity]));
}

describe('stock moves (store/stock: reserve, release, moveReserved, consume)', () => {
  it('reserve never oversells under concurrent batches, whatever order their lines come in, and never deadlocks', async () => {
    // Two SKUs at two warehouses, 10 units each; 30 batches each want one unit of every row, half of
    // them listing their lines backwards: 10 are taken, the other 20 change nothing.
    const { skus, warehouses } = await createCatalog(testPool(), {
      prices: [100, 200],
      stock: [
        [10, 10],
        [10, 10],
      ],
    });
    const lines: StockLine[] = warehouses.flatMap((warehouse_id) => skus.map((sku) => ({ warehouse_id, sku, quantity: 1 })));
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, n) =>
        withTransaction(testPool(), (tx) => reserve(tx, n % 2 === 0 ? lines : [...lines].reverse())),
      ),
    );
    expect(outcomes.filter((taken) => taken)).to.have.length(10);
    const stock = await stockOf(warehouses);
    for (const line of lines) expect(stock[`${line.warehouse_id}/${line.sku}`]).to.deep.equal({ on_hand: 10, reserved: 10 });
  });

  it('reserve is all or nothing: one short row (or one unknown row) and nothing is taken, no hold written', async () => {
    const { skus, warehouses } = await createCatalog(testPool(), { prices: [100, 200], stock: [[5, 2]] });
    const [w] = warehouses as [string];
    const [a, b] = skus as [string, string];
    const { orderId, items } = await newOrder(skus);
    const holds = items.map((item_id) => ({ reservation_id: uuidv7(), order_id: orderId, item_id }));
    const tooMuch = [
      { warehouse_id: w, sku: a, quantity: 3 },
      { warehouse_id: w, sku: b, quantity: 3 },
    ];
    expect(await withTransaction(testPool(), (tx) => reserve(tx, tooMuch, { holds, reserveLinesOf: [orderId] }))).to.equal(false);
    const unknown = [
      { warehouse_id: w, sku: a, quantity: 1 },
      { warehouse_id: uniqueId('WH'), sku: b, quantity: 1 },
    ];
    expect(await withTransaction(testPool(), (tx) => reserve(tx, unknown))).to.equal(false);
    expect(await stockOf(warehouses)).to.deep.equal({
      [`${w}/${a}`]: { on_hand: 5, reserved: 0 },
      [`${w}/${b}`]: { on_hand: 2, reserved: 0 },
    });
    expect(await heldOf(orderId)).to.deep.equal({});

    const fits = [
      { warehouse_id: w, sku: a, quantity: 3 },
      { warehouse_id: w, sku: b, quantity: 2 },
    ];
    expect(await withTransaction(testPool(), (tx) => reserve(tx, fits, { holds, reserveLinesOf: [orderId] }))).to.equal(true);
    expect(await stockOf(warehouses)).to.deep.equal({
      [`${w}/${a}`]: { on_hand: 5, reserved: 3 },
      [`${w}/${b}`]: { on_hand: 2, reserved: 2 },
    });
    expect(await heldOf(orderId)).to.deep.equal({ [`${w}/${a}`]: 3, [`${w}/${b}`]: 2 });
    const lineStatus = await testPool().query<{ status: string }>('SELECT status FROM order_items WHERE order_id = $1', [
      orderId,
    ]);
    expect(lineStatus.rows.map((r) => r.status)).to.deep.equal(['reserved', 'reserved']);
  });

  it('release gives lines and held reservations back (they become released); on hand does not move', async () => {
    const { skus, warehouses } = await createCatalog(testPool(), { prices: [100, 200], stock: [[8, 8]] });
    const [w] = warehouses as [string];
    const [a, b] = skus as [string, string];
    const { orderId, items } = await newOrder(skus);
    const lines = [
      { warehouse_id: w, sku: a, quantity: 4 },
      { warehouse_id: w, sku: b, quantity: 3 },
    ];
    const holds = items.map((item_id) => ({ reservation_id: uuidv7(), order_id: orderId, item_id }));
    expect(await withTransaction(testPool(), (tx) => reserve(tx, lines, { holds }))).to.equal(true);
    // A plain release: one unit of a reserved on top of the holds, and given back.
    expect(await withTransaction(testPool(), (tx) => reserve(tx, [{ warehouse_id: w, sku: a, quantity: 1 }]))).to.equal(true);
    expect(await withTransaction(testPool(), (tx) => release(tx, [{ warehouse_id: w, sku: a, quantity: 1 }]))).to.deep.equal([
      { warehouse_id: w, sku: a, quantity: 1 },
    ]);
    expect(await stockOf(warehouses)).to.deep.equal({
      [`${w}/${a}`]: { on_hand: 8, reserved: 4 },
      [`${w}/${b}`]: { on_hand: 8, reserved: 3 },
    });
    // The order's holds given back together with two more units of b: summed per stock row.
    expect(await withTransaction(testPool(), (tx) => reserve(tx, [{ warehouse_id: w, sku: b, quantity: 2 }]))).to.equal(true);
    const released = await withTransaction(testPool(), (tx) =>
      release(tx, [{ warehouse_id: w, sku: b, quantity: 2 }], { orderIds: [orderId] }),
    );
    expect(released).to.have.deep.members([
      { warehouse_id: w, sku: a, quantity: 4 },
      { warehouse_id: w, sku: b, quantity: 5 },
    ]);
    expect(await heldOf(orderId)).to.deep.equal({});
    const statuses = await testPool().query<{ status: string }>('SELECT DISTINCT status FROM reservations WHERE order_id = $1', [
      orderId,
    ]);
    expect(statuses.rows.map((r) => r.status)).to.deep.equal(['released']);
    expect(await stockOf(warehouses)).to.deep.equal({
      [`${w}/${a}`]: { on_hand: 8, reserved: 0 },
      [`${w}/${b}`]: { on_hand: 8, reserved: 0 },
    });
  });

  it('moveReserved moves reserved units between stock rows, netted; a move that needs more than is free changes nothing', async () => {
    const { skus, warehouses } = await createCatalog(testPool(), { prices: [100], stock: [[6], [4]] });
    const [w1, w2] = warehouses as [string, string];
    const [s] = skus as [string];
    expect(await withTransaction(testPool(), (tx) => reserve(tx, [{ warehouse_id: w1, sku: s, quantity: 5 }]))).to.equal(true);
    // 3 of the 5 move to w2 (the 2 others stay: from 5 at w1 to 2 at w1 and 3 at w2).
    const moved = await withTransaction(testPool(), (tx) =>
      moveReserved(
        tx,
        [{ warehouse_id: w1, sku: s, quantity: 5 }],
        [
          { warehouse_id: w1, sku: s, quantity: 2 },
          { warehouse_id: w2, sku: s, quantity: 3 },
        ],
      ),
    );
    expect(moved).to.equal(true);
    expect(await stockOf(warehouses)).to.deep.equal({
      [`${w1}/${s}`]: { on_hand: 6, reserved: 2 },
      [`${w2}/${s}`]: { on_hand: 4, reserved: 3 },
    });
    // w2 has 1 free: moving 2 more there is refused, and w1 keeps its 2.
    const refused = await withTransaction(testPool(), (tx) =>
      moveReserved(tx, [{ warehouse_id: w1, sku: s, quantity: 2 }], [{ warehouse_id: w2, sku: s, quantity: 2 }]),
    );
    expect(refused).to.equal(false);
    expect(await stockOf(warehouses)).to.deep.equal({
      [`${w1}/${s}`]: { on_hand: 6, reserved: 2 },
      [`${w2}/${s}`]: { on_hand: 4, reserved: 3 },
    });
    // Nothing net to move: true, nothing changes.
    const same = [{ warehouse_id: w2, sku: s, quantity: 3 }];
    expect(await withTransaction(testPool(), (tx) => moveReserved(tx, same, same))).to.equal(true);
    expect((await stockOf(warehouses))[`${w2}/${s}`]).to.deep.equal({ on_hand: 4, reserved: 3 });
  });

  it('consume takes units out of the books: on hand and reserved drop by the lines and by the held reservations of shipped shipments', async () => {
    const { skus, warehouses } = await createCatalog(testPool(), { prices: [100, 200], stock: [[10, 10]] });
    const [w] = warehouses as [string];
    const [a, b] = skus as [string, string];
    const { orderId, items } = await newOrder(skus);
    const holds = items.map((item_id) => ({ reservation_id: uuidv7(), order_id: orderId, item_id }));
    const lines = [
      { warehouse_id: w, sku: a, quantity: 4 },
      { warehouse_id: w, sku: b, quantity: 2 },
    ];
    expect(await withTransaction(testPool(), (tx) => reserve(tx, lines, { holds }))).to.equal(true);
    const shipmentId = uuidv7();
    await testPool().query(`INSERT INTO shipments (shipment_id, order_id, warehouse_id, status) VALUES ($1, $2, $3, 'created')`, [
      shipmentId,
      orderId,
      w,
    ]);
    await testPool().query('UPDATE reservations SET shipment_id = $1 WHERE order_id = $2', [shipmentId, orderId]);
    // One more unit of b reserved and then found missing (short-picked), with the shipment's holds.
    expect(await withTransaction(testPool(), (tx) => reserve(tx, [{ warehouse_id: w, sku: b, quantity: 1 }]))).to.equal(true);
    await withTransaction(testPool(), (tx) =>
      consume(tx, [{ warehouse_id: w, sku: b, quantity: 1 }], { shipmentIds: [shipmentId] }),
    );
    expect(await stockOf(warehouses)).to.deep.equal({
      [`${w}/${a}`]: { on_hand: 6, reserved: 0 },
      [`${w}/${b}`]: { on_hand: 7, reserved: 0 },
    });
    const statuses = await testPool().query<{ status: string }>('SELECT DISTINCT status FROM reservations WHERE order_id = $1', [
      orderId,
    ]);
    expect(statuses.rows.map((r) => r.status)).to.deep.equal(['consumed']);
  });
});
