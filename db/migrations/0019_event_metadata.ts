import type { Knex } from 'knex';

/**
 * Correlation ids end to end (issue 14): each event's metadata — the correlation id of the request it
 * all started from, the W3C traceparent of the operation that wrote it, the event that caused it and
 * the acting client (API key id and channel, or our service) — in a nullable jsonb column of the event
 * log, written by the same INSERT as the event (store/eventStore's eventLogAndOutbox). Adding a nullable
 * column without a default rewrites nothing; events written before it have none. The hash chain
 * (0017) covers the payload, not the metadata: the metadata says who and why, it is not the record.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE order_events ADD COLUMN metadata jsonb`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE order_events DROP COLUMN IF EXISTS metadata`);
}
