import { withTransaction, type Pool, type PoolClient } from './db.js';

/**
 * Runs a message's effect at most once per consumer: the inbox row (consumer, message id) is written
 * in the same transaction as the effect and its outgoing events, so a redelivered message finds its
 * row and does nothing. Returns false when the message had already been processed.
 */
export async function processOnce(
  pool: Pool,
  consumer: string,
  messageId: string,
  effect: (tx: PoolClient) => Promise<void>,
): Promise<boolean> {
  return withTransaction(pool, async (tx) => {
    const inserted = await tx.query(
      'INSERT INTO processed_messages (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [consumer, messageId],
    );
    if (inserted.rowCount !== 1) return false;
    await effect(tx);
    return true;
  });
}
