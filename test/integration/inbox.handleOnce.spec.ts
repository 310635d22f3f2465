import { expect } from 'chai';
import { OrderEventType } from '../../domain/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { handleOnce, type Handled } from '../../store/inbox.js';
import { testPool, uniqueId } from '../support/env.js';

interface Msg {
  readonly order: string;
  readonly id: string;
}

/** An order row for messages to be about (version 0: no events yet). */
async function newOrder(): Promise<string> {
  const orderId = uuidv7();
  await testPool().query(
    `INSERT INTO orders (order_id, customer_id, channel, status, version, total_amount, currency, shipping_address, payment_method, created_at)
     VALUES ($1, $2, 'web', 'placed', 0, 100, 'USD', '{}', '{"type":"card"}', uuid7_time($1))`,
    [orderId, uniqueId('inbox')],
  );
  return orderId;
}

async function eventsOf(orderId: string): Promise<string[]> {
  const { rows } = await testPool().query<{ type: string }>('SELECT type FROM order_events WHERE order_id = $1 ORDER BY seq', [
    orderId,
  ]);
  return rows.map((r) => r.type);
}

/** Each claimed message appends one event to its order; the handler sees which were claimed. */
function appendOne(seen: Msg[][], last?: () => Promise<void>) {
  return async (_tx: unknown, claimed: readonly Msg[]): Promise<Handled<number>> => {
    seen.push([...claimed]);
    return {
      appends: claimed.map((m) => ({
        orderId: m.order,
        events: [{ type: OrderEventType.paymentReleased, payload: { reason: 'order_delivered', released: [] } }],
      })),
      ...(last === undefined ? {} : { last }),
      result: claimed.length,
    };
  };
}

describe('the inbox runner (store/inbox handleOnce): a message handled once, whatever comes again', () => {
  it('hands on only what is new: not a redelivery, not a repeat within the batch, not a message of an unknown order', async () => {
    const consumer = uniqueId('consumer');
    const [a, b] = [await newOrder(), await newOrder()];
    const seen: Msg[][] = [];
    const run = (messages: Msg[]) =>
      handleOnce(testPool(), consumer, messages, {
        entryOf: (m) => ({ orderId: m.order, messageId: m.id }),
        handle: appendOne(seen),
      });
    const first = { order: a, id: uniqueId('m') };
    const unknownOrder = { order: uuidv7(), id: uniqueId('m') };

    expect(await run([first, first, unknownOrder])).to.equal(1);
    const second = { order: b, id: uniqueId('m') };
    expect(await run([first, second])).to.equal(1);

    expect(seen).to.deep.equal([[first], [second]]);
    expect(await eventsOf(a)).to.deep.equal([OrderEventType.paymentReleased]);
    expect(await eventsOf(b)).to.deep.equal([OrderEventType.paymentReleased]);
    // The unknown order's message was not claimed: once its order exists, it is handled.
    const { rows } = await testPool().query('SELECT 1 FROM processed_messages WHERE consumer = $1 AND message_id = $2', [
      consumer,
      unknownOrder.id,
    ]);
    expect(rows).to.have.length(0);
  });

  it('keeps nothing when the last statement throws: no event, no inbox row, so a retry handles the message', async () => {
    const consumer = uniqueId('consumer');
    const order = await newOrder();
    const message = { order, id: uniqueId('m') };
    const seen: Msg[][] = [];
    const failing = handleOnce(testPool(), consumer, [message], {
      entryOf: (m) => ({ orderId: m.order, messageId: m.id }),
      handle: appendOne(seen, async () => {
        throw new Error('stock moved meanwhile');
      }),
    });
    await failing.then(
      () => expect.fail('the last statement threw'),
      (error: unknown) => expect(String(error)).to.include('stock moved meanwhile'),
    );
    expect(await eventsOf(order)).to.deep.equal([]);

    const retried = await handleOnce(testPool(), consumer, [message], {
      entryOf: (m) => ({ orderId: m.order, messageId: m.id }),
      handle: appendOne(seen),
    });
    expect(retried).to.equal(1);
    expect(await eventsOf(order)).to.deep.equal([OrderEventType.paymentReleased]);
  });
});
