import type { Pool } from '../../platform/db.js';
import { ensureSandboxSchema } from '../../platform/sandboxSchema.js';

/**
 * The WMS simulator's own ledger, in its own schema (as a partner's storage would be; our migrations
 * do not know it): every shipment it was asked for, how far it got (step), and which step's message it
 * has published. A shipment advances only after its previous step's message went out, and a restart
 * publishes what was left unpublished: nothing is skipped, nothing walked twice.
 */
export const WmsStep = Object.freeze({ received: 0, picked: 1, packed: 2, shipped: 3 } as const);

export interface WmsShipment {
  readonly shipment_id: string;
  readonly order_id: string;
  readonly warehouse_id: string;
  readonly carrier: string | null;
  readonly items: ReadonlyArray<{ item_id: string; sku: string; quantity: number }>;
  readonly short: ReadonlyArray<{ item_id: string; sku: string; quantity: number }>;
  readonly step: number;
  readonly published: number;
  readonly stopped: boolean;
  readonly cancelled: boolean;
  readonly cancel_published: boolean;
  readonly tracking_number: string | null;
  readonly updated_at: Date;
  /** The Kafka headers its answers carry: the request's correlation id and trace, and the request as their cause. */
  readonly trace: Readonly<Record<string, string>> | null;
}

export async function ensureWmsSchema(pool: Pool, schema: string): Promise<void> {
  await ensureSandboxSchema(
    pool,
    schema,
    `
      CREATE TABLE IF NOT EXISTS "${schema}".shipments (
        shipment_id      uuid PRIMARY KEY,
        order_id         uuid NOT NULL,
        warehouse_id     text NOT NULL,
        carrier          text,
        items            jsonb NOT NULL,
        short            jsonb NOT NULL DEFAULT '[]',
        step             integer NOT NULL DEFAULT 0,
        published        integer NOT NULL DEFAULT 0,
        stopped          boolean NOT NULL DEFAULT false,
        tracking_number  text,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now()
      );
      -- A step is due WMS_SIM_STEP_MS after the previous one (updated_at); ledgers of earlier builds kept
      -- a precomputed due time.
      ALTER TABLE "${schema}".shipments DROP COLUMN IF EXISTS next_step_at;
      -- A cancellation stops a shipment that has not shipped yet; its message goes out like a step's.
      ALTER TABLE "${schema}".shipments ADD COLUMN IF NOT EXISTS cancelled boolean NOT NULL DEFAULT false;
      ALTER TABLE "${schema}".shipments ADD COLUMN IF NOT EXISTS cancel_published boolean NOT NULL DEFAULT false;
      -- The correlation of the request, answered with every step (platform/traceScope's answerHeaders).
      ALTER TABLE "${schema}".shipments ADD COLUMN IF NOT EXISTS trace jsonb;
      CREATE INDEX IF NOT EXISTS shipments_due_idx ON "${schema}".shipments (updated_at) WHERE step < 3 AND NOT stopped;
      CREATE INDEX IF NOT EXISTS shipments_unpublished_idx ON "${schema}".shipments (updated_at)
        WHERE published < step OR (cancelled AND NOT cancel_published);
    `,
  );
}
