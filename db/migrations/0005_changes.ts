import type { Knex } from 'knex';

/**
 * Changes after placement (issue 6): cancellation requests, refunds with their allocation over captures,
 * and credit notes (invoices of kind credit_note pointing at the refund).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- Set under the order's row lock by the cancel command: the router routes nothing after it.
    ALTER TABLE orders ADD COLUMN cancel_requested_at timestamptz;

    -- An edit that raised the total added a second authorization: a shipment's value may be captured
    -- from two payments, one capture each (still never two captures of one payment for one shipment).
    ALTER TABLE captures DROP CONSTRAINT captures_shipment_id_key;
    ALTER TABLE captures ADD CONSTRAINT captures_shipment_payment_key UNIQUE (shipment_id, payment_id);
    ALTER TABLE captures ADD COLUMN amount_refunded bigint NOT NULL DEFAULT 0;
    ALTER TABLE captures ADD CONSTRAINT captures_refunded_within_amount CHECK (amount_refunded >= 0 AND amount_refunded <= amount);

    -- One row per refund request: 'pending' from the request (so concurrent requests count it against
    -- what is left to refund), 'succeeded' once the PSP refunded every capture it was spread over.
    CREATE TABLE refunds (
      refund_id       uuid PRIMARY KEY,
      order_id        uuid NOT NULL,
      saga_id         uuid NOT NULL,
      payment_id      uuid NOT NULL REFERENCES payments,
      amount          bigint NOT NULL CHECK (amount > 0),
      currency        char(3) NOT NULL,
      reason          text NOT NULL,
      items           jsonb NOT NULL DEFAULT '[]',
      status          text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
      allocations     jsonb NOT NULL DEFAULT '[]',
      credit_note_id  uuid,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX refunds_order_idx ON refunds (order_id);

    ALTER TABLE invoices ADD COLUMN refund_id uuid UNIQUE REFERENCES refunds;
    CREATE INDEX sagas_type_due_idx ON sagas (saga_type, next_attempt_at) WHERE status IN ('running', 'compensating');
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX IF EXISTS sagas_type_due_idx;
    ALTER TABLE invoices DROP COLUMN IF EXISTS refund_id;
    DROP TABLE IF EXISTS refunds;
    ALTER TABLE captures DROP CONSTRAINT IF EXISTS captures_refunded_within_amount, DROP COLUMN IF EXISTS amount_refunded;
    ALTER TABLE captures DROP CONSTRAINT IF EXISTS captures_shipment_payment_key;
    ALTER TABLE captures ADD CONSTRAINT captures_shipment_id_key UNIQUE (shipment_id);
    ALTER TABLE orders DROP COLUMN IF EXISTS cancel_requested_at;
  `);
}
