import type { Knex } from 'knex';

/**
 * Dead letters in PostgreSQL (issue 11): every message a consumer gave up on — a Redis Streams entry
 * after CONSUMER_MAX_DELIVERIES failed deliveries, a Kafka record after KAFKA_CONSUMER_MAX_ATTEMPTS, a
 * malformed one at once — with its error and attempts, until an operator re-drives or discards it.
 * Redis is never the source of truth, so neither is a dead-letter stream there. One row per message
 * and consumer group: a message dead-lettered again (redelivered, or failing again after a re-drive)
 * updates its row rather than adding one.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE dead_letters (
      id                uuid PRIMARY KEY,
      -- The consumer group that gave up: a Redis Streams group (saga, router …) or a Kafka group id.
      source            text NOT NULL,
      transport         text NOT NULL CHECK (transport IN ('redis-stream', 'kafka')),
      -- Where it came from and goes back to on re-drive: the stream, or the Kafka topic.
      stream            text NOT NULL,
      -- The stream entry id, or the Kafka record's partition:offset (of its latest failure).
      entry_id          text NOT NULL,
      -- What the message is known by across redeliveries: its event (or message) id, else stream/entry.
      message_key       text NOT NULL,
      event_id          text,
      order_id          text,
      type              text,
      -- The event envelope when the message carried one (for people), and the message as it arrived
      -- (stream fields, or a Kafka record's key, headers and value) to put back on re-drive.
      envelope          jsonb,
      message           jsonb NOT NULL,
      error             text NOT NULL,
      attempts          integer NOT NULL CHECK (attempts >= 0),
      first_failure_at  timestamptz NOT NULL,
      last_failure_at   timestamptz NOT NULL,
      status            text NOT NULL DEFAULT 'dead' CHECK (status IN ('dead', 'redriven', 'discarded')),
      redrives          integer NOT NULL DEFAULT 0,
      redriven_at       timestamptz,
      discarded_at      timestamptz,
      UNIQUE (source, message_key)
    );
    CREATE INDEX dead_letters_listing_idx ON dead_letters (status, source, last_failure_at DESC);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS dead_letters');
}
