-- The insert cost of the event log (decision 0018): 20,000 events (2,000 orders x seq 1..10) inserted through
-- order_events in statements of 200 rows, chain trigger and indexes included; prints the server time; rolls back.
-- Run it alternately against two schemas to compare them (not part of npm run bench: no baseline in the same run):
--   PGOPTIONS='-c search_path=<schema>' psql -q "$TEST_DATABASE_URL" -f bench/orderEventInserts.sql
BEGIN;
CREATE TEMP TABLE ids ON COMMIT DROP AS
  SELECT (lpad(to_hex((extract(epoch FROM now()) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text || g), 1, 19))::uuid AS id, g
    FROM generate_series(1, 2000) g;
DO $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  FOR s IN 1..10 LOOP
    FOR b IN 0..9 LOOP
      INSERT INTO order_events (event_id, order_id, seq, type, payload)
        SELECT gen_random_uuid(), id, s, 'test.bench', '{"n": 1, "text": "some payload of a typical size", "amount": 1234}'
          FROM ids WHERE g > b * 200 AND g <= (b + 1) * 200 ORDER BY id;
    END LOOP;
  END LOOP;
  RAISE NOTICE 'ms %', round(extract(epoch FROM clock_timestamp() - t0) * 1000);
END $$;
ROLLBACK;
