import { withTransaction, type Pool, type PoolClient, type Queryable } from '../platform/db.js';
import { appendToOrders, type OrderAppend } from './eventStore.js';
import { lockOrders } from './orderLock.js';

/**
 * Each consumer's inbox (processed_messages): a message it has handled, recorded in the same
 * transaction as the handling's effects, so a redelivery is recognised and does nothing.
 */

/** Whether the consumer's inbox holds the message already (a cheap check before expensive work). */
export async function wasProcessed(db: Queryable, consumer: string, messageId: string): Promise<boolean> {
  return (await processedAmong(db, consumer, [messageId])).size > 0;
}

/** Which of the messages the consumer's inbox holds already. */
export async function processedAmong(db: Queryable, consumer: string, messageIds: readonly string[]): Promise<Set<string>> {
  const seen = await db.query<{ message_id: string }>(
    'SELECT message_id FROM processed_messages WHERE consumer = $1 AND message_id = ANY($2::text[])',
    [consumer, messageIds],
  );
  return new Set(seen.rows.map((r) => r.message_id));
}

/** Records messages in the consumer's inbox in one statement; returns the ids that were new (not redeliveries). */
export async function claimMessages(tx: Queryable, consumer: string, messageIds: readonly string[]): Promise<Set<string>> {
  if (messageIds.length === 0) return new Set();
  const inserted = await tx.query<{ message_id: string }>(
    `INSERT INTO processed_messages (consumer, message_id)
     SELECT $1, id FROM unnest($2::text[]) AS u(id) ORDER BY id
     ON CONFLICT DO NOTHING RETURNING message_id`,
    [consumer, messageIds],
  );
  return new Set(inserted.rows.map((r) => r.message_id));
}

/** A message as the inbox knows it: its id (the consumer's dedupe key) and the order it is about. */
export interface InboxEntry {
  readonly orderId: string;
  readonly messageId: string;
}

/** What a handler did in its transaction: each order's events (and new status), and the statement that must come last. */
export interface Handled<T> {
  readonly appends: readonly OrderAppend[];
  /**
   * The transaction's last statement, after the events: the hot stock rows, locked until the commit,
   * so the shorter the better (store/stock). It may throw to roll everything back.
   */
  readonly last?: (tx: PoolClient) => Promise<void>;
  readonly result: T;
}

/**
 * The one runner of the handlers that react to messages in the order store. In ONE transaction: the
 * messages' orders locked (`columns` of `orders o`, in id order, so two runners never deadlock), their
 * inbox rows claimed, the handler given the messages claimed now — not a redelivery, not a repeat
 * within the batch, not one of an order that does not exist — with their orders' rows; then the
 * events it answers appended (one statement for every order), and its last statement. A redelivered
 * message therefore changes nothing.
 */
export async function handleOnce<M, O extends { order_id: string }, T>(
  pool: Pool,
  consumer: string,
  messages: readonly M[],
  options: {
    readonly entryOf: (message: M) => InboxEntry;
    readonly columns?: string;
    readonly handle: (tx: PoolClient, claimed: readonly M[], orders: ReadonlyMap<string, O>) => Promise<Handled<T>>;
  },
): Promise<T> {
  return withTransaction(pool, async (tx) => {
    const orders = await lockOrders<O>(
      tx,
      messages.map((m) => options.entryOf(m).orderId),
      options.columns,
    );
    const known = messages.filter((m) => orders.has(options.entryOf(m).orderId));
    const fresh = await claimMessages(tx, consumer, [...new Set(known.map((m) => options.entryOf(m).messageId))]);
    // The inbox holds each id once: a message repeated within the batch is handled the first time only.
    const claimed = known.filter((m) => fresh.delete(options.entryOf(m).messageId));
    const handled = await options.handle(tx, claimed, orders);
    await appendToOrders(tx, handled.appends);
    await handled.last?.(tx);
    return handled.result;
  });
}
