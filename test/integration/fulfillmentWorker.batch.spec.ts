import { expect } from 'chai';
import { sellerOf } from '../../store/documents.js';
import { uuidv7 } from '../../platform/ids.js';
import { createKafka } from '../../platform/kafka.js';
import type { WmsMessage } from '../../platform/wmsProtocol.js';
import { FulfillmentWorker } from '../../workers/fulfillment/fulfillmentWorker.js';
import { uniqueId } from '../support/env.js';
import { startTestSystem, stockOf, type TestSystem } from '../support/system.js';

/**
 * The fulfillment worker applies what one Kafka fetch returns as one batch: several orders' WMS
 * messages, interleaved, a redelivered one among them.
 */
describe('fulfillment worker: a batch of WMS messages applied together (real PostgreSQL)', function () {
  this.timeout(60_000);
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem({ router: true });
  });
  after(() => system.stop());

  it('applies interleaved picks, packs and ships of three orders in one transaction, each message once, stock moved by what left', async () => {
    const { skus, warehouses } = await system.catalog({ prices: [1000], stock: [[20]] });
    const sku = skus[0]!;
    const warehouse = warehouses[0]!;
    const orderIds: string[] = [];
    for (const quantity of [3, 2, 1]) {
      orderIds.push((await system.placeOrder(uniqueId('cust'), [{ sku, quantity }])).body.order_id as string);
    }
    for (const id of orderIds) expect(await system.waitForStatus(id, ['processing'], 30_000)).to.equal('processing');
    // Given: three routed shipments and no router to react to what follows (a short pick would be re-routed).
    await system.fulfillment!.router.stop();
    expect(await stockOf(system.pool, warehouse, sku)).to.deep.equal({ on_hand: 20, reserved: 6 });
    const shipments = await system.pool.query<{ order_id: string; shipment_id: string; item_id: string }>(
      `SELECT s.order_id, s.shipment_id, si.item_id FROM shipments s JOIN shipment_items si ON si.shipment_id = s.shipment_id
        WHERE s.order_id = ANY($1::uuid[])`,
      [orderIds],
    );
    const shipmentOf = (orderId: string) => shipments.rows.find((s) => s.order_id === orderId)!;
    const step = (orderId: string, type: WmsMessage['type'], extra: Partial<WmsMessage> = {}): WmsMessage => {
      const { shipment_id, item_id } = shipmentOf(orderId);
      return {
        message_id: `${shipment_id}:${type}`,
        type,
        shipment_id,
        order_id: orderId,
        warehouse_id: warehouse,
        occurred_at: new Date().toISOString(),
        ...(type === 'shipped' ? { carrier: 'ups', tracking_number: `1Z${item_id.slice(0, 8)}` } : {}),
        ...extra,
      };
    };
    const [a, b, c] = orderIds as [string, string, string];
    const { item_id: aItem } = shipmentOf(a);
    // A is picked one unit short; B's shipped comes twice; C is not shipped; one message names no order of ours.
    const messages = [
      step(a, 'picked', { short: [{ item_id: aItem, sku, quantity: 1 }] }),
      step(b, 'picked'),
      step(c, 'picked'),
      step(a, 'packed'),
      step(b, 'packed'),
      step(b, 'shipped'),
      step(c, 'packed'),
      step(a, 'shipped'),
      step(b, 'shipped'),
      { ...step(c, 'packed'), message_id: `${uuidv7()}:packed`, order_id: uuidv7() },
    ];
    const worker = new FulfillmentWorker({
      pool: system.pool,
      kafka: createKafka(system.config.kafkaBrokers, uniqueId('fulfillment-test')),
      psp: system.psp,
      logger: system.logger,
      topic: 'unused',
      groupId: 'unused',
      seller: sellerOf(system.config),
      firstTrackingPollMs: 60_000,
      maxAttempts: 5,
      backoff: { baseMs: 100, maxMs: 1_000 },
    });

    const captureIds = await worker.apply(messages);

    expect(captureIds).to.have.length(2);
    // A shipped 2 (1 found missing), B shipped 2, C still holds 1.
    expect(await stockOf(system.pool, warehouse, sku)).to.deep.equal({ on_hand: 15, reserved: 1 });
    const events = await system.pool.query<{ order_id: string; type: string; tx: string; order_status: string }>(
      `SELECT order_id, type, xmin::text AS tx, payload->>'order_status' AS order_status FROM order_events
        WHERE order_id = ANY($1::uuid[]) AND type LIKE 'shipment.%' AND type <> 'shipment.created' ORDER BY order_id, seq`,
      [orderIds],
    );
    const typesOf = (orderId: string) => events.rows.filter((e) => e.order_id === orderId).map((e) => e.type);
    expect(typesOf(a)).to.deep.equal(['shipment.picked', 'shipment.short_picked', 'shipment.packed', 'shipment.shipped']);
    expect(typesOf(b)).to.deep.equal(['shipment.picked', 'shipment.packed', 'shipment.shipped']);
    expect(typesOf(c)).to.deep.equal(['shipment.picked', 'shipment.packed']);
    expect(new Set(events.rows.map((e) => e.tx)).size).to.equal(1);
    // Each order's status is the one its last event carries.
    const statuses = await system.pool.query<{ order_id: string; status: string }>(
      'SELECT order_id, status::text AS status FROM orders WHERE order_id = ANY($1::uuid[])',
      [orderIds],
    );
    for (const { order_id: orderId, status } of statuses.rows) {
      expect(status, orderId).to.equal(events.rows.filter((e) => e.order_id === orderId).at(-1)!.order_status);
    }
    expect(statuses.rows.find((r) => r.order_id === b)!.status).to.equal('shipped');
    const captures = await system.pool.query<{ order_id: string; amount: number; status: string }>(
      'SELECT order_id, amount, status FROM captures WHERE order_id = ANY($1::uuid[]) ORDER BY amount',
      [orderIds],
    );
    expect(captures.rows.map((r) => [r.order_id, r.amount, r.status])).to.have.deep.members([
      [a, 2000, 'pending'],
      [b, 2000, 'pending'],
    ]);

    // The inbox holds the eight messages of our orders; the stranger's is not recorded (as before batching).
    const inbox = await system.pool.query<{ message_id: string }>(
      `SELECT message_id FROM processed_messages WHERE consumer = 'fulfillment' AND message_id = ANY($1::text[])`,
      [messages.map((m) => m.message_id)],
    );
    expect(inbox.rows).to.have.length(8);
    expect(inbox.rows.map((r) => r.message_id)).to.not.include(messages.at(-1)!.message_id);

    // Redelivered whole: nothing changes.
    expect(await worker.apply(messages)).to.deep.equal([]);
    expect(await stockOf(system.pool, warehouse, sku)).to.deep.equal({ on_hand: 15, reserved: 1 });
    const again = await system.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM order_events WHERE order_id = ANY($1::uuid[]) AND type LIKE 'shipment.%' AND type <> 'shipment.created'`,
      [orderIds],
    );
    expect(again.rows[0]!.n).to.equal(events.rows.length);
  });
});
