import type { Knex } from 'knex';

/**
 * A hash chain per order over the event log (issue 15): each event stores the hash of its predecessor
 * in its order's history (`prev_hash`, 32 zero bytes for seq 1) and its own hash, SHA-256 over
 * prev_hash and a canonical encoding of the event (event id, order id, seq, type, payload as jsonb's
 * own text, time in UTC to the microsecond). A trigger computes both as the row is inserted, in the
 * inserting transaction — group-committed batches included, whoever the writer; an event whose
 * predecessor is missing keeps an empty link, which verify names. `npm run audit -- verify`
 * recomputes every hash with the same function and names each broken link; daily anchors (the hash over
 * every event hash of a day) are kept in `audit_anchors` and published on `order-events` so that a copy
 * lives outside this database.
 *
 * Existing events are chained here once, oldest seq first, with the append-only trigger off for the
 * migration's own UPDATE (migrations run as the owner).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION order_event_hash(prev bytea, event_id uuid, order_id uuid, seq integer, type text, payload jsonb,
                                     occurred_at timestamptz)
      RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT sha256(prev || convert_to(
          event_id::text || E'\\n' || order_id::text || E'\\n' || seq::text || E'\\n' || type || E'\\n' ||
          payload::text || E'\\n' || to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8'))
      $$;

    ALTER TABLE order_events ADD COLUMN prev_hash bytea, ADD COLUMN hash bytea;

    ALTER TABLE order_events DISABLE TRIGGER order_events_append_only;
    DO $$
    DECLARE
      level integer := 1;
      top integer;
    BEGIN
      SELECT coalesce(max(seq), 0) INTO top FROM order_events;
      WHILE level <= top LOOP
        UPDATE order_events e
           SET prev_hash = CASE WHEN e.seq = 1 THEN '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea
                                ELSE (SELECT p.hash FROM order_events p WHERE p.order_id = e.order_id AND p.seq = e.seq - 1) END
         WHERE e.seq = level;
        UPDATE order_events e
           SET hash = order_event_hash(coalesce(e.prev_hash, '\\x'::bytea), e.event_id, e.order_id, e.seq, e.type, e.payload,
                                       e.occurred_at)
         WHERE e.seq = level;
        level := level + 1;
      END LOOP;
    END $$;
    ALTER TABLE order_events ENABLE TRIGGER order_events_append_only;

    CREATE FUNCTION order_events_chain() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.seq = 1 THEN
        NEW.prev_hash := '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
      ELSE
        -- No predecessor (a history written around the event store): the link stays empty, and verify names it.
        SELECT e.hash INTO NEW.prev_hash FROM order_events e WHERE e.order_id = NEW.order_id AND e.seq = NEW.seq - 1;
      END IF;
      NEW.hash := order_event_hash(coalesce(NEW.prev_hash, '\\x'::bytea), NEW.event_id, NEW.order_id, NEW.seq, NEW.type, NEW.payload,
                                   NEW.occurred_at);
      RETURN NEW;
    END $$;
    CREATE TRIGGER order_events_chain BEFORE INSERT ON order_events FOR EACH ROW EXECUTE FUNCTION order_events_chain();

    CREATE TABLE audit_anchors (
      day          date PRIMARY KEY,
      events       integer NOT NULL,
      hash         bytea NOT NULL,
      computed_at  timestamptz NOT NULL DEFAULT now()
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS audit_anchors;
    DROP TRIGGER IF EXISTS order_events_chain ON order_events;
    DROP FUNCTION IF EXISTS order_events_chain();
    ALTER TABLE order_events DROP COLUMN IF EXISTS prev_hash, DROP COLUMN IF EXISTS hash;
    DROP FUNCTION IF EXISTS order_event_hash(bytea, uuid, uuid, integer, text, jsonb, timestamptz);
  `);
}
