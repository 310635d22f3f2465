import type { Knex } from 'knex';

/**
 * Monthly partitions for the event log (issue 15 item 2, decision 0018): `order_events` is partitioned
 * by RANGE of `order_id`. An order id is a UUIDv7 whose first 48 bits are its creation time in
 * milliseconds, and `orders` is partitioned by that same time (created_at = uuid7_time(order_id)), so
 * with bounds at `uuid7_floor(first day of the month)` every event lands in the month of its ORDER: a
 * month of orders and its events are detached, archived and restored together, and a read by order_id
 * (every read of the log) probes one partition. Nothing in the insert changes, no column is added.
 *
 * Keys: a partitioned table's unique keys must contain the partition key. `(order_id, seq)` becomes the
 * primary key (it was already unique and is what every append relies on); `event_id` stays unique per
 * order through `(event_id, order_id)`. Event ids are UUIDv7 drawn by the writer and also the outbox's
 * primary key in the same transaction, so no second key over the whole log is needed.
 *
 * The existing rows are copied, hashes as they are (the chain trigger is created after the copy, so
 * nothing is recomputed: a tampered row stays visibly tampered), into partitions for every month that
 * `orders` has a partition for; rows of other months go to `order_events_default`, as orders do. The
 * table is locked while the copy runs: on a large log, run this migration in a maintenance window.
 *
 * `ensure_order_partitions` now keeps both tables' months ahead (still as its owner, decision 0015), and
 * refuses the service role UPDATE/DELETE/TRUNCATE on event partitions it creates (default privileges
 * would give them); its result is still the number of months it created something for.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- The smallest UUIDv7 of a moment: the millisecond in the first 48 bits, every other bit zero.
    CREATE FUNCTION uuid7_floor(at timestamptz) RETURNS uuid
      LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS
      $$ SELECT (lpad(to_hex(floor(extract(epoch FROM at) * 1000)::bigint), 12, '0') || '00000000000000000000')::uuid $$;

    ALTER TABLE order_events RENAME TO order_events_unpartitioned;
    ALTER TABLE order_events_unpartitioned RENAME CONSTRAINT order_events_pkey TO order_events_unpartitioned_pkey;
    ALTER TABLE order_events_unpartitioned RENAME CONSTRAINT order_events_order_id_seq_key TO order_events_unpartitioned_order_id_seq_key;
    ALTER TABLE order_events_unpartitioned RENAME CONSTRAINT order_events_seq_check TO order_events_unpartitioned_seq_check;

    CREATE TABLE order_events (
      event_id     uuid NOT NULL,
      order_id     uuid NOT NULL,
      seq          integer NOT NULL CHECK (seq > 0),
      type         text NOT NULL,
      payload      jsonb NOT NULL,
      occurred_at  timestamptz NOT NULL DEFAULT now(),
      prev_hash    bytea,
      hash         bytea,
      CONSTRAINT order_events_pkey PRIMARY KEY (order_id, seq),
      CONSTRAINT order_events_event_id_key UNIQUE (event_id, order_id)
    ) PARTITION BY RANGE (order_id);
    CREATE TABLE order_events_default PARTITION OF order_events DEFAULT;

    -- The chain trigger of one partition (see above): a function of its own whose lookup of the
    -- predecessor names the partition, so its plan is cached like the plain table's was.
    CREATE FUNCTION chain_order_events_partition(partition text) RETURNS void
      LANGUAGE plpgsql AS $fn$
    BEGIN
      EXECUTE format($f$
        CREATE OR REPLACE FUNCTION %1$I() RETURNS trigger LANGUAGE plpgsql AS $body$
        BEGIN
          IF NEW.seq = 1 THEN
            NEW.prev_hash := '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
          ELSE
            -- No predecessor (a history written around the event store): the link stays empty, and verify names it.
            SELECT e.hash INTO NEW.prev_hash FROM %2$I e WHERE e.order_id = NEW.order_id AND e.seq = NEW.seq - 1;
          END IF;
          NEW.hash := order_event_hash(coalesce(NEW.prev_hash, '\\x'::bytea), NEW.event_id, NEW.order_id, NEW.seq, NEW.type,
                                       NEW.payload, NEW.occurred_at);
          RETURN NEW;
        END $body$ $f$, partition || '_chain', partition);
      EXECUTE format('DROP TRIGGER IF EXISTS order_events_chain ON %I', partition);
      EXECUTE format('CREATE TRIGGER order_events_chain BEFORE INSERT ON %I FOR EACH ROW EXECUTE FUNCTION %I()',
                     partition, partition || '_chain');
    END $fn$;
    REVOKE EXECUTE ON FUNCTION chain_order_events_partition(text) FROM PUBLIC;

    CREATE OR REPLACE FUNCTION ensure_order_partitions(start date, months integer) RETURNS integer
      LANGUAGE plpgsql AS $$
    DECLARE
      first_day date := date_trunc('month', start)::date;
      created integer := 0;
      lower_bound date;
      upper_bound date;
      name text;
      events_name text;
      made boolean;
      grantee text;
    BEGIN
      FOR i IN 0 .. months - 1 LOOP
        lower_bound := (first_day + make_interval(months => i))::date;
        upper_bound := (lower_bound + interval '1 month')::date;
        name := format('orders_y%sm%s', to_char(lower_bound, 'YYYY'), to_char(lower_bound, 'MM'));
        events_name := format('order_events_y%sm%s', to_char(lower_bound, 'YYYY'), to_char(lower_bound, 'MM'));
        made := false;
        IF to_regclass(quote_ident(current_schema()) || '.' || name) IS NULL THEN
          EXECUTE format(
            'CREATE TABLE %I PARTITION OF orders FOR VALUES FROM (%L) TO (%L)',
            name, lower_bound::timestamp AT TIME ZONE 'UTC', upper_bound::timestamp AT TIME ZONE 'UTC');
          made := true;
        END IF;
        IF to_regclass(quote_ident(current_schema()) || '.' || events_name) IS NULL THEN
          -- The same month as the orders': order ids of that month, by their UUIDv7 time.
          EXECUTE format(
            'CREATE TABLE %I PARTITION OF order_events FOR VALUES FROM (%L) TO (%L)',
            events_name, uuid7_floor(lower_bound::timestamp AT TIME ZONE 'UTC'),
            uuid7_floor(upper_bound::timestamp AT TIME ZONE 'UTC'));
          PERFORM chain_order_events_partition(events_name);
          -- Default privileges gave every role the owner grants to UPDATE and DELETE: not on the log.
          FOR grantee IN
            SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END
              FROM pg_class c, aclexplode(c.relacl) a
             WHERE c.oid = to_regclass(quote_ident(current_schema()) || '.' || events_name) AND a.grantee <> c.relowner
          LOOP
            EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM %s', events_name, grantee);
          END LOOP;
          made := true;
        END IF;
        IF made THEN
          created := created + 1;
        END IF;
      END LOOP;
      RETURN created;
    END $$;
    DO $$ BEGIN
      EXECUTE format(
        'ALTER FUNCTION ensure_order_partitions(date, integer) SECURITY DEFINER SET search_path = %I, pg_temp',
        current_schema());
    END $$;

    -- An events partition for every month orders have one for (and the months kept ahead).
    SELECT ensure_order_partitions(to_date(substr(c.relname, 9, 4) || substr(c.relname, 14, 2), 'YYYYMM'), 1)
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'orders'::regclass AND c.relname ~ '^orders_y[0-9]{4}m[0-9]{2}$';
    SELECT ensure_order_partitions((now() - interval '1 month')::date, 5);

    -- The copy runs before any chain trigger exists: hashes are kept, not recomputed.
    DO $$
    DECLARE
      partition text;
    BEGIN
      FOR partition IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                        WHERE i.inhparent = 'order_events'::regclass LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS order_events_chain ON %I', partition);
      END LOOP;
    END $$;
    INSERT INTO order_events (event_id, order_id, seq, type, payload, occurred_at, prev_hash, hash)
      SELECT event_id, order_id, seq, type, payload, occurred_at, prev_hash, hash FROM order_events_unpartitioned;
    DROP TABLE order_events_unpartitioned;

    -- The append-only triggers on the parent: PostgreSQL puts row triggers on every partition, present,
    -- future and attached. The chain trigger is per partition (chain_order_events_partition): on the
    -- parent, its lookup of the predecessor would be planned over every partition for each event
    -- (measured: 2 to 3 times the cost of an append), where a partition's own function keeps one cached
    -- plan on one table, as before.
    CREATE TRIGGER order_events_append_only
      BEFORE UPDATE OR DELETE ON order_events
      FOR EACH ROW EXECUTE FUNCTION order_events_refuse_change();
    CREATE TRIGGER order_events_no_truncate
      BEFORE TRUNCATE ON order_events
      FOR EACH STATEMENT EXECUTE FUNCTION order_events_refuse_change();
    SELECT chain_order_events_partition(c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'order_events'::regclass;
    DROP FUNCTION order_events_chain();

    -- The months archived to files (npm run archive): which they are, where, and their manifest. A read of
    -- an order of such a month answers that its history is archived, and where (query-service).
    CREATE TABLE archived_months (
      month        date PRIMARY KEY CHECK (month = date_trunc('month', month)),
      location     text NOT NULL,
      manifest     jsonb NOT NULL,
      archived_at  timestamptz NOT NULL DEFAULT now()
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS archived_months;
    CREATE FUNCTION order_events_chain() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.seq = 1 THEN
        NEW.prev_hash := '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
      ELSE
        SELECT e.hash INTO NEW.prev_hash FROM order_events e WHERE e.order_id = NEW.order_id AND e.seq = NEW.seq - 1;
      END IF;
      NEW.hash := order_event_hash(coalesce(NEW.prev_hash, '\\x'::bytea), NEW.event_id, NEW.order_id, NEW.seq, NEW.type, NEW.payload,
                                   NEW.occurred_at);
      RETURN NEW;
    END $$;
    CREATE TABLE order_events_flat (
      event_id     uuid PRIMARY KEY,
      order_id     uuid NOT NULL,
      seq          integer NOT NULL CHECK (seq > 0),
      type         text NOT NULL,
      payload      jsonb NOT NULL,
      occurred_at  timestamptz NOT NULL DEFAULT now(),
      prev_hash    bytea,
      hash         bytea,
      UNIQUE (order_id, seq)
    );
    INSERT INTO order_events_flat SELECT event_id, order_id, seq, type, payload, occurred_at, prev_hash, hash FROM order_events;
    DROP TABLE order_events;
    ALTER TABLE order_events_flat RENAME TO order_events;
    ALTER TABLE order_events RENAME CONSTRAINT order_events_flat_pkey TO order_events_pkey;
    ALTER TABLE order_events RENAME CONSTRAINT order_events_flat_order_id_seq_key TO order_events_order_id_seq_key;
    ALTER TABLE order_events RENAME CONSTRAINT order_events_flat_seq_check TO order_events_seq_check;
    CREATE TRIGGER order_events_append_only BEFORE UPDATE OR DELETE ON order_events
      FOR EACH ROW EXECUTE FUNCTION order_events_refuse_change();
    CREATE TRIGGER order_events_no_truncate BEFORE TRUNCATE ON order_events
      FOR EACH STATEMENT EXECUTE FUNCTION order_events_refuse_change();
    CREATE TRIGGER order_events_chain BEFORE INSERT ON order_events FOR EACH ROW EXECUTE FUNCTION order_events_chain();
    -- ensure_order_partitions as 0001 wrote it (0015's owner rights and search_path kept by ALTER).
    CREATE OR REPLACE FUNCTION ensure_order_partitions(start date, months integer) RETURNS integer
      LANGUAGE plpgsql AS $$
    DECLARE
      first_day date := date_trunc('month', start)::date;
      created integer := 0;
      lower_bound date;
      name text;
    BEGIN
      FOR i IN 0 .. months - 1 LOOP
        lower_bound := (first_day + make_interval(months => i))::date;
        name := format('orders_y%sm%s', to_char(lower_bound, 'YYYY'), to_char(lower_bound, 'MM'));
        IF to_regclass(quote_ident(current_schema()) || '.' || name) IS NULL THEN
          EXECUTE format(
            'CREATE TABLE %I PARTITION OF orders FOR VALUES FROM (%L) TO (%L)',
            name, lower_bound::timestamp AT TIME ZONE 'UTC',
            (lower_bound + interval '1 month')::timestamp AT TIME ZONE 'UTC');
          created := created + 1;
        END IF;
      END LOOP;
      RETURN created;
    END $$;
    DO $$ BEGIN
      EXECUTE format(
        'ALTER FUNCTION ensure_order_partitions(date, integer) SECURITY DEFINER SET search_path = %I, pg_temp',
        current_schema());
    END $$;
    DROP FUNCTION IF EXISTS uuid7_floor(timestamptz);
    DROP FUNCTION IF EXISTS chain_order_events_partition(text);
    DO $$
    DECLARE
      f text;
    BEGIN
      FOR f IN SELECT p.proname FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace
                  AND p.proname ~ '^order_events_(y[0-9]{4}m[0-9]{2}|default)_chain$' LOOP
        EXECUTE format('DROP FUNCTION %I()', f);
      END LOOP;
    END $$;
  `);
}
