import type { Knex } from 'knex';

/**
 * The relay's per-sink checkpoints and its wake-up signal, and the saga's retry schedule.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- One row per sink. (tx_id, id) is the last outbox row the sink published. For the Redis sink,
    -- (acked_tx_id, acked_id) is the oldest row some consumer group had not yet acknowledged when last
    -- measured: after Redis loses its data, the relay re-publishes from there (inclusive).
    CREATE TABLE relay_checkpoints (
      sink         text PRIMARY KEY,
      tx_id        xid8 NOT NULL DEFAULT '0',
      id           uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
      acked_tx_id  xid8,
      acked_id     uuid,
      updated_at   timestamptz NOT NULL DEFAULT now()
    );

    -- Wakes the relay when outbox rows commit, on channel outbox_<schema>: one notification per
    -- statement, delivered at commit; duplicates within a transaction collapse.
    CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('outbox_' || TG_TABLE_SCHEMA, '');
      RETURN NULL;
    END $$;
    CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

    -- When a waiting saga (a partner call to retry) or a leased one is due to be driven again.
    ALTER TABLE sagas ADD COLUMN next_attempt_at timestamptz;
    CREATE INDEX sagas_due_idx ON sagas (next_attempt_at) WHERE status IN ('running', 'compensating');
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX IF EXISTS sagas_due_idx;
    ALTER TABLE sagas DROP COLUMN IF EXISTS next_attempt_at;
    DROP TRIGGER IF EXISTS outbox_notify ON outbox;
    DROP FUNCTION IF EXISTS outbox_notify();
    DROP TABLE IF EXISTS relay_checkpoints;
  `);
}
