import type { Knex } from 'knex';

/**
 * The core schema: catalog and stock, carts, orders (monthly partitions), items, shipments, payments,
 * sagas, the append-only event log, the Debezium-shaped outbox, idempotency keys and the consumer inbox.
 * Names are unqualified: the connection's search_path picks the schema, so tests can migrate their own.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TYPE order_status AS ENUM
      ('placed', 'confirmed', 'processing', 'partially_shipped', 'shipped', 'delivered', 'rejected', 'cancelled');

    -- The creation time a UUIDv7 carries. Orders are partitioned on created_at, which is always this
    -- value of order_id, so a lookup by id can name its partition (see order_created_at below).
    CREATE FUNCTION uuid7_time(id uuid) RETURNS timestamptz
      LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS
      $$ SELECT to_timestamp(('x' || lpad(substr(replace(id::text, '-', ''), 1, 12), 16, '0'))::bit(64)::bigint / 1000.0) $$;

    CREATE TABLE products (
      sku            text PRIMARY KEY,
      name           text NOT NULL,
      price          bigint NOT NULL CHECK (price >= 0),
      currency       char(3) NOT NULL,
      weight_grams   integer NOT NULL DEFAULT 0 CHECK (weight_grams >= 0),
      created_at     timestamptz NOT NULL DEFAULT now(),
      updated_at     timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE warehouses (
      warehouse_id          text PRIMARY KEY,
      name                  text NOT NULL,
      lat                   double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
      lon                   double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
      capacity_per_day      integer NOT NULL CHECK (capacity_per_day > 0),
      carriers              text[] NOT NULL DEFAULT '{}',
      shipping_cost_per_kg  bigint NOT NULL DEFAULT 0 CHECK (shipping_cost_per_kg >= 0),
      created_at            timestamptz NOT NULL DEFAULT now(),
      updated_at            timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE inventory (
      warehouse_id  text NOT NULL REFERENCES warehouses,
      sku           text NOT NULL REFERENCES products,
      on_hand       integer NOT NULL CHECK (on_hand >= 0),
      reserved      integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
      updated_at    timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (warehouse_id, sku),
      CONSTRAINT inventory_reserved_within_on_hand CHECK (reserved <= on_hand)
    );
    CREATE INDEX inventory_sku_idx ON inventory (sku);

    CREATE TABLE carts (
      cart_id      uuid PRIMARY KEY,
      customer_id  text NOT NULL,
      channel      text NOT NULL,
      currency     char(3) NOT NULL,
      items        jsonb NOT NULL,
      status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'ordered')),
      order_id     uuid,
      created_at   timestamptz NOT NULL DEFAULT now(),
      updated_at   timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE orders (
      order_id           uuid NOT NULL,
      customer_id        text NOT NULL,
      channel            text NOT NULL CHECK (channel IN ('web', 'mobile', 'pos', 'marketplace')),
      external_order_id  text,
      cart_id            uuid,
      status             order_status NOT NULL DEFAULT 'placed',
      version            integer NOT NULL DEFAULT 1,
      total_amount       bigint NOT NULL CHECK (total_amount >= 0),
      currency           char(3) NOT NULL,
      shipping_address   jsonb NOT NULL,
      billing_address    jsonb,
      payment_method     jsonb NOT NULL,
      created_at         timestamptz NOT NULL,
      updated_at         timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (order_id, created_at),
      CONSTRAINT orders_created_at_is_id_time CHECK (created_at = uuid7_time(order_id))
    ) PARTITION BY RANGE (created_at);
    CREATE TABLE orders_default PARTITION OF orders DEFAULT;
    CREATE INDEX orders_customer_created_idx ON orders (customer_id, created_at DESC);
    CREATE INDEX orders_status_idx ON orders (status);

    -- external_order_id is unique per channel across all partitions, which a partitioned table's own
    -- unique index cannot say (it must include created_at), hence this small table.
    CREATE TABLE order_external_refs (
      channel            text NOT NULL,
      external_order_id  text NOT NULL,
      order_id           uuid NOT NULL,
      PRIMARY KEY (channel, external_order_id)
    );

    -- Monthly partitions (UTC months) from the month of 'start' for 'months' months; existing ones are kept.
    CREATE FUNCTION ensure_order_partitions(start date, months integer) RETURNS integer
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
    SELECT ensure_order_partitions((now() - interval '1 month')::date, 5);

    CREATE TABLE order_items (
      item_id             uuid PRIMARY KEY,
      order_id            uuid NOT NULL,
      order_created_at    timestamptz NOT NULL,
      line_no             integer NOT NULL,
      sku                 text NOT NULL REFERENCES products,
      variant_id          text,
      quantity            integer NOT NULL CHECK (quantity > 0),
      unit_price          bigint NOT NULL CHECK (unit_price >= 0),
      status              text NOT NULL DEFAULT 'pending',
      quantity_shipped    integer NOT NULL DEFAULT 0 CHECK (quantity_shipped >= 0),
      quantity_cancelled  integer NOT NULL DEFAULT 0 CHECK (quantity_cancelled >= 0),
      quantity_refunded   integer NOT NULL DEFAULT 0 CHECK (quantity_refunded >= 0),
      FOREIGN KEY (order_id, order_created_at) REFERENCES orders (order_id, created_at),
      UNIQUE (order_id, line_no)
    );

    CREATE TABLE shipments (
      shipment_id      uuid PRIMARY KEY,
      order_id         uuid NOT NULL,
      warehouse_id     text NOT NULL REFERENCES warehouses,
      carrier          text,
      tracking_number  text,
      status           text NOT NULL DEFAULT 'created',
      shipped_at       timestamptz,
      delivered_at     timestamptz,
      created_at       timestamptz NOT NULL DEFAULT now(),
      updated_at       timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX shipments_order_idx ON shipments (order_id);
    CREATE INDEX shipments_open_idx ON shipments (warehouse_id) WHERE status NOT IN ('shipped', 'delivered', 'cancelled');

    CREATE TABLE shipment_items (
      shipment_id  uuid NOT NULL REFERENCES shipments,
      item_id      uuid NOT NULL REFERENCES order_items,
      sku          text NOT NULL,
      quantity     integer NOT NULL CHECK (quantity > 0),
      PRIMARY KEY (shipment_id, item_id)
    );

    CREATE TABLE payments (
      payment_id          uuid PRIMARY KEY,
      order_id            uuid NOT NULL,
      method              text NOT NULL,
      currency            char(3) NOT NULL,
      amount              bigint NOT NULL CHECK (amount >= 0),
      amount_captured     bigint NOT NULL DEFAULT 0 CHECK (amount_captured >= 0),
      amount_refunded     bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
      authorization_code  text,
      status              text NOT NULL,
      captured_at         timestamptz,
      created_at          timestamptz NOT NULL DEFAULT now(),
      updated_at          timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT payments_captured_within_authorized CHECK (amount_captured <= amount),
      CONSTRAINT payments_refunded_within_captured CHECK (amount_refunded <= amount_captured)
    );
    CREATE INDEX payments_order_idx ON payments (order_id);

    CREATE TABLE reservations (
      reservation_id  uuid PRIMARY KEY,
      order_id        uuid NOT NULL,
      item_id         uuid NOT NULL REFERENCES order_items,
      warehouse_id    text NOT NULL,
      sku             text NOT NULL,
      quantity        integer NOT NULL CHECK (quantity > 0),
      status          text NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'released', 'consumed')),
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (warehouse_id, sku) REFERENCES inventory (warehouse_id, sku)
    );
    CREATE INDEX reservations_order_idx ON reservations (order_id);

    CREATE TABLE sagas (
      saga_id       uuid PRIMARY KEY,
      order_id      uuid NOT NULL,
      saga_type     text NOT NULL DEFAULT 'placement',
      current_step  text NOT NULL,
      status        text NOT NULL CHECK (status IN ('running', 'compensating', 'completed', 'failed')),
      step_results  jsonb NOT NULL DEFAULT '{}',
      created_at    timestamptz NOT NULL DEFAULT now(),
      updated_at    timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX sagas_order_idx ON sagas (order_id);
    CREATE INDEX sagas_active_idx ON sagas (updated_at) WHERE status IN ('running', 'compensating');

    -- The immutable audit trail: one row per state change, numbered per order.
    CREATE TABLE order_events (
      event_id     uuid PRIMARY KEY,
      order_id     uuid NOT NULL,
      seq          integer NOT NULL CHECK (seq > 0),
      type         text NOT NULL,
      payload      jsonb NOT NULL,
      occurred_at  timestamptz NOT NULL DEFAULT now(),
      UNIQUE (order_id, seq)
    );
    CREATE FUNCTION order_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'order_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
    END $$;
    CREATE TRIGGER order_events_append_only
      BEFORE UPDATE OR DELETE ON order_events
      FOR EACH ROW EXECUTE FUNCTION order_events_refuse_change();
    CREATE TRIGGER order_events_no_truncate
      BEFORE TRUNCATE ON order_events
      FOR EACH STATEMENT EXECUTE FUNCTION order_events_refuse_change();

    -- Debezium outbox event router columns (id, aggregatetype, aggregateid, type, payload), plus the
    -- writing transaction's id: the relay reads only below the oldest running transaction, so a row
    -- committed late by an old transaction is never skipped (docs/decisions/0002).
    CREATE TABLE outbox (
      id             uuid PRIMARY KEY,
      aggregatetype  text NOT NULL,
      aggregateid    text NOT NULL,
      type           text NOT NULL,
      payload        jsonb NOT NULL,
      tx_id          xid8 NOT NULL DEFAULT pg_current_xact_id(),
      created_at     timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX outbox_relay_order_idx ON outbox (tx_id, id);

    CREATE TABLE idempotency_keys (
      idempotency_key   text NOT NULL,
      scope             text NOT NULL DEFAULT '',
      fingerprint       text NOT NULL,
      method            text NOT NULL,
      path              text NOT NULL,
      state             text NOT NULL CHECK (state IN ('in_flight', 'completed')),
      response_status   integer,
      response_headers  jsonb,
      response_body     jsonb,
      locked_at         timestamptz NOT NULL DEFAULT now(),
      created_at        timestamptz NOT NULL DEFAULT now(),
      expires_at        timestamptz NOT NULL,
      PRIMARY KEY (scope, idempotency_key)
    );
    CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);

    -- Consumer inbox: a message id recorded in the same transaction as its effect is never applied twice.
    CREATE TABLE processed_messages (
      consumer      text NOT NULL,
      message_id    text NOT NULL,
      processed_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer, message_id)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS processed_messages, idempotency_keys, outbox, order_events, sagas, reservations,
      payments, shipment_items, shipments, order_items, order_external_refs, orders, carts, inventory,
      warehouses, products CASCADE;
    DROP FUNCTION IF EXISTS order_events_refuse_change(), ensure_order_partitions(date, integer), uuid7_time(uuid);
    DROP TYPE IF EXISTS order_status;
  `);
}
