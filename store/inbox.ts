import type { Queryable } from '../platform/db.js';

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

/** Records a message in the consumer's inbox; false when it was there already (a redelivery). */
export async function claimMessage(tx: Queryable, consumer: string, messageId: string): Promise<boolean> {
  return (await claimMessages(tx, consumer, [messageId])).size > 0;
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
