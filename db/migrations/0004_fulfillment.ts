import type { Knex } from 'knex';

/**
 * Fulfillment (issue 4): reservations belong to shipments once routed, captures per shipment, invoices
 * numbered without gaps per year, the tracking poll schedule, and the catalog epoch the router's
 * inventory snapshot watches.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- A held reservation moves to its shipment when the router assigns it; shipping consumes it.
    ALTER TABLE reservations ADD COLUMN shipment_id uuid REFERENCES shipments;
    CREATE INDEX reservations_shipment_idx ON reservations (shipment_id) WHERE shipment_id IS NOT NULL;

    -- The carrier the router chose, what the WMS could not pick, and when the tracker asks the carrier next.
    ALTER TABLE shipments
      ADD COLUMN requested_carrier   text,
      ADD COLUMN tracking_next_poll_at timestamptz,
      ADD COLUMN tracking_attempts   integer NOT NULL DEFAULT 0,
      ADD COLUMN in_transit_at       timestamptz;
    CREATE INDEX shipments_tracking_due_idx ON shipments (tracking_next_poll_at) WHERE status IN ('shipped', 'in_transit');
    -- A pick that came up short lowers a shipment line's quantity, to zero when nothing was found.
    ALTER TABLE shipment_items ADD COLUMN quantity_short integer NOT NULL DEFAULT 0 CHECK (quantity_short >= 0);
    ALTER TABLE shipment_items DROP CONSTRAINT shipment_items_quantity_check;
    ALTER TABLE shipment_items ADD CONSTRAINT shipment_items_quantity_check CHECK (quantity >= 0);
    ALTER TABLE shipment_items ADD COLUMN unit_price bigint NOT NULL DEFAULT 0 CHECK (unit_price >= 0);

    -- One capture per shipment (the unique key is what makes a redelivered 'shipped' harmless): written
    -- 'pending' with the shipment's value when it ships, 'captured' once the PSP has taken the money.
    CREATE TABLE captures (
      capture_id       uuid PRIMARY KEY,
      order_id         uuid NOT NULL,
      payment_id       uuid NOT NULL REFERENCES payments,
      shipment_id      uuid NOT NULL UNIQUE REFERENCES shipments,
      amount           bigint NOT NULL CHECK (amount > 0),
      currency         char(3) NOT NULL,
      status           text NOT NULL CHECK (status IN ('pending', 'captured', 'failed')),
      psp_capture_id   text,
      attempts         integer NOT NULL DEFAULT 0,
      last_error       text,
      next_attempt_at  timestamptz NOT NULL DEFAULT now(),
      captured_at      timestamptz,
      created_at       timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX captures_order_idx ON captures (order_id);
    CREATE INDEX captures_due_idx ON captures (next_attempt_at) WHERE status = 'pending';

    -- Gapless numbering: the counter row is locked and bumped in the transaction that issues the
    -- document, so a rolled-back issue gives its number back and concurrent issues take turns.
    CREATE TABLE document_counters (
      kind         text NOT NULL,
      year         integer NOT NULL,
      last_number  integer NOT NULL,
      PRIMARY KEY (kind, year)
    );

    -- Invoices (and, later, credit notes) are immutable documents: written once, whole, never updated.
    CREATE TABLE invoices (
      invoice_id   uuid PRIMARY KEY,
      kind         text NOT NULL DEFAULT 'invoice' CHECK (kind IN ('invoice', 'credit_note')),
      number       text NOT NULL UNIQUE,
      year         integer NOT NULL,
      seq          integer NOT NULL CHECK (seq > 0),
      order_id     uuid NOT NULL,
      shipment_id  uuid,
      capture_id   uuid UNIQUE REFERENCES captures,
      currency     char(3) NOT NULL,
      total        bigint NOT NULL,
      document     jsonb NOT NULL,
      issued_at    timestamptz NOT NULL,
      UNIQUE (kind, year, seq)
    );
    CREATE INDEX invoices_order_idx ON invoices (order_id, issued_at);

    -- Moves on every change to warehouses, products or stock on hand (a sequence: never a hot row, never
    -- blocks a writer): the router refreshes its inventory snapshot at once when it sees a new value, not
    -- only every 30 s. Deferred to commit, so a reader that sees the new value sees the change too.
    CREATE SEQUENCE catalog_epoch;
    CREATE FUNCTION catalog_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM nextval('catalog_epoch');
      RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER warehouses_catalog_epoch AFTER INSERT OR UPDATE ON warehouses
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION catalog_epoch_bump();
    CREATE CONSTRAINT TRIGGER products_catalog_epoch AFTER INSERT OR UPDATE ON products
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION catalog_epoch_bump();
    CREATE CONSTRAINT TRIGGER inventory_catalog_epoch AFTER INSERT OR UPDATE OF on_hand ON inventory
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION catalog_epoch_bump();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER IF EXISTS warehouses_catalog_epoch ON warehouses;
    DROP TRIGGER IF EXISTS products_catalog_epoch ON products;
    DROP TRIGGER IF EXISTS inventory_catalog_epoch ON inventory;
    DROP FUNCTION IF EXISTS catalog_epoch_bump();
    DROP SEQUENCE IF EXISTS catalog_epoch;
    DROP TABLE IF EXISTS invoices, document_counters, captures;
    ALTER TABLE shipment_items DROP COLUMN IF EXISTS quantity_short, DROP COLUMN IF EXISTS unit_price;
    ALTER TABLE shipments DROP COLUMN IF EXISTS requested_carrier, DROP COLUMN IF EXISTS tracking_next_poll_at,
      DROP COLUMN IF EXISTS tracking_attempts, DROP COLUMN IF EXISTS in_transit_at;
    ALTER TABLE reservations DROP COLUMN IF EXISTS shipment_id;
  `);
}
