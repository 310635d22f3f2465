import type { Knex } from 'knex';

/**
 * Outbound webhooks (contract §8, issue 13): a client's subscriptions, one delivery per matching event
 * and subscription, and every attempt at it.
 *
 * - A subscription signs with its current secret and, during a rotation, with the previous one too
 *   until `previous_secret_expires_at`. It is disabled once it has been failing for 24 h
 *   (`failing_since` is the first failure after its last success).
 * - A delivery is written when the webhook worker reads the event from Kafka (its own consumer group),
 *   once per (subscription, event): a redelivered record adds nothing. One order's deliveries to one
 *   subscription go out in `event_seq` order: only the earliest undelivered one is due.
 * - A worker takes a due delivery by leasing it (`leased_until`), never by holding a transaction across
 *   the HTTP call; a worker that dies mid-delivery leaves a lease that runs out, and the delivery goes
 *   again (at least once; receivers dedupe by `webhook-id`, the event id).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE webhook_subscriptions (
      webhook_id                  uuid PRIMARY KEY,
      -- The API client that owns it (its key's client), and the channel whose orders it sees (NULL: every channel).
      client_id                   text,
      channel                     text CHECK (channel IN ('web', 'mobile', 'pos', 'marketplace')),
      url                         text NOT NULL,
      events                      text[] NOT NULL CHECK (cardinality(events) > 0),
      description                 text,
      secret                      text NOT NULL,
      previous_secret             text,
      previous_secret_expires_at  timestamptz,
      status                      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'deleted')),
      failing_since               timestamptz,
      disabled_at                 timestamptz,
      created_at                  timestamptz NOT NULL DEFAULT now(),
      updated_at                  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX webhook_subscriptions_client_idx ON webhook_subscriptions (client_id, created_at);

    CREATE TABLE webhook_deliveries (
      delivery_id      uuid PRIMARY KEY,
      webhook_id       uuid NOT NULL REFERENCES webhook_subscriptions (webhook_id) ON DELETE CASCADE,
      event_id         uuid NOT NULL,
      order_id         uuid NOT NULL,
      event_seq        integer NOT NULL,
      type             text NOT NULL,
      -- The body as first built: every attempt sends the same bytes.
      body             text NOT NULL,
      status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'abandoned')),
      attempts         integer NOT NULL DEFAULT 0,
      next_attempt_at  timestamptz NOT NULL DEFAULT now(),
      leased_until     timestamptz,
      last_status      integer,
      last_error       text,
      created_at       timestamptz NOT NULL DEFAULT now(),
      delivered_at     timestamptz,
      UNIQUE (webhook_id, event_id)
    );
    -- The heads of the queues: per subscription and order, the earliest pending delivery.
    CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (webhook_id, order_id, event_seq)
      WHERE status = 'pending';
    CREATE INDEX webhook_deliveries_listing_idx ON webhook_deliveries (webhook_id, created_at DESC);

    CREATE TABLE webhook_attempts (
      delivery_id   uuid NOT NULL REFERENCES webhook_deliveries (delivery_id) ON DELETE CASCADE,
      attempt       integer NOT NULL,
      attempted_at  timestamptz NOT NULL DEFAULT now(),
      duration_ms   integer NOT NULL,
      status        integer,
      error         text,
      PRIMARY KEY (delivery_id, attempt)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS webhook_attempts, webhook_deliveries, webhook_subscriptions');
}
