import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { API_CHANNELS, SCOPES, type ApiChannel } from '../../platform/access.js';
import type { ApiKeyListing, CreatedApiKey } from '../../platform/apiKeys.js';
import { DeadLetterStatus } from '../../platform/deadLetters.js';
import { stringEnum } from './common.js';

/**
 * What the write API answers (contract §3, §4, §8), as TypeBox schemas the OpenAPI document publishes
 * and the contract test checks real answers against. Answers may gain fields: their objects are open.
 */

const uuid = Type.String({ format: 'uuid' });
const moment = Type.String({ format: 'date-time' });
const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const money = Type.Integer({ description: 'Minor units of the currency (1999 = 19.99)' });
const secret = Type.String({ pattern: '^whsec_', description: 'Shown this once: store it' });

export const productAnswer = Type.Object({
  sku: Type.String(),
  name: Type.String(),
  price: money,
  currency: Type.String(),
  weight_grams: Type.Integer(),
  created_at: moment,
  updated_at: moment,
});

export const warehouseAnswer = Type.Object({
  warehouse_id: Type.String(),
  name: Type.String(),
  location: Type.Object({ lat: Type.Number(), lon: Type.Number() }),
  capacity_per_day: Type.Integer(),
  carriers: Type.Array(Type.String()),
  shipping_cost_per_kg: Type.Integer(),
  created_at: moment,
  updated_at: moment,
});

const stock = { on_hand: Type.Integer(), reserved: Type.Integer(), available: Type.Integer() };

export const inventoryLevelAnswer = Type.Object({ warehouse_id: Type.String(), sku: Type.String(), ...stock });

export const inventoryAnswer = Type.Object({
  sku: Type.String(),
  warehouses: Type.Array(Type.Object({ warehouse_id: Type.String(), ...stock })),
  ...stock,
});

const pricedLine = Type.Object({ sku: Type.String(), quantity: Type.Integer(), unit_price: money });

export const cartAnswer = Type.Object({
  cart_id: uuid,
  customer_id: Type.String(),
  channel: Type.String(),
  currency: Type.String(),
  status: Type.String({ description: 'open, or ordered' }),
  order_id: Type.Optional(nullable(uuid)),
  items: Type.Array(pricedLine),
  total_amount: money,
  created_at: moment,
});

/** The 202 of a placement: the order is placed, its saga (reserve, authorize, confirm) runs. */
export const placementAnswer = Type.Object({
  order_id: uuid,
  status: Type.String({ description: 'placed' }),
  version: Type.Integer({ minimum: 1 }),
  customer_id: Type.String(),
  channel: Type.String(),
  external_order_id: nullable(Type.String()),
  total_amount: money,
  currency: Type.String(),
  items: Type.Array(Type.Object({ item_id: Type.String(), sku: Type.String(), quantity: Type.Integer(), unit_price: money })),
  saga: Type.Object({ saga_id: uuid, status: Type.String(), current_step: Type.String() }),
  created_at: moment,
});

export const batchAnswer = Type.Object({
  results: Type.Array(
    Type.Object({
      external_order_id: nullable(Type.String()),
      status: Type.Integer({ description: 'What the single POST /api/v1/orders would have answered' }),
      order_id: Type.Optional(uuid),
      problem: Type.Optional(Type.Object({ type: Type.String(), title: Type.String(), status: Type.Integer() })),
    }),
  ),
});

const sagaRef = Type.Object({ saga_id: uuid, status: Type.String() });

export const cancellationAnswer = Type.Object({
  order_id: uuid,
  status: Type.String(),
  version: Type.Integer(),
  cancellation: nullable(sagaRef),
});

export const modificationAnswer = Type.Object({
  order_id: uuid,
  status: Type.String(),
  version: Type.Integer(),
  modification: sagaRef,
});

export const refundAnswer = Type.Object({
  refund_id: uuid,
  order_id: uuid,
  version: Type.Optional(Type.Integer()),
  amount: money,
  currency: Type.String(),
  reason: Type.String(),
  items: Type.Array(Type.Object({ item_id: Type.String(), quantity: Type.Integer() })),
  status: Type.String({ description: 'pending until the PSP refunds' }),
});

export const stuckSagasAnswer = Type.Object({
  stuck_after_ms: Type.Integer(),
  sagas: Type.Array(
    Type.Object({
      saga_id: uuid,
      order_id: uuid,
      saga_type: Type.String(),
      status: Type.String(),
      current_step: nullable(Type.String()),
      updated_at: Type.String(),
      stuck_for_ms: Type.Union([Type.Integer(), Type.String()]),
    }),
  ),
});

export const deadLetterAnswer = Type.Object({
  id: uuid,
  source: Type.String(),
  transport: stringEnum(['redis-stream', 'kafka']),
  stream: Type.String(),
  entry_id: Type.String(),
  event_id: nullable(Type.String()),
  order_id: nullable(Type.String()),
  type: nullable(Type.String()),
  envelope: Type.Unknown(),
  message: Type.Unknown(),
  error: Type.String(),
  attempts: Type.Integer(),
  first_failure_at: Type.String(),
  last_failure_at: Type.String(),
  status: stringEnum(Object.values(DeadLetterStatus)),
  redrives: Type.Integer(),
  redriven_at: nullable(Type.String()),
  discarded_at: nullable(Type.String()),
});

export const deadLettersAnswer = Type.Object({ dead_letters: Type.Array(deadLetterAnswer) });

export const apiKeyListing = Type.Object({
  key_id: uuid,
  name: Type.String(),
  channel: Type.Unsafe<ApiChannel | null>({ type: ['string', 'null'], enum: [...API_CHANNELS, null] }),
  scopes: Type.Array(stringEnum(SCOPES)),
  key_prefix: Type.String(),
  rate_limit: nullable(Type.Object({ per_second: Type.Integer(), burst: Type.Integer() })),
  created_at: moment,
  revoked_at: nullable(moment),
});

export const createdApiKeyAnswer = Type.Composite([
  apiKeyListing,
  Type.Object({ key: Type.String({ description: 'The key, shown this once: send it as Authorization: Bearer <key>' }) }),
]);

export const apiKeysAnswer = Type.Object({ api_keys: Type.Array(apiKeyListing) });

export const marketplaceAnswer = Type.Object({
  marketplace_id: Type.String(),
  name: Type.String(),
  created_at: moment,
  updated_at: moment,
  secret: Type.Optional(secret),
});

export const rotatedSecretAnswer = Type.Object({
  secret,
  previous_secret_expires_at: Type.String({ format: 'date-time', description: 'The previous secret stays valid until then' }),
});

export const webhookAnswer = Type.Object({
  webhook_id: uuid,
  url: Type.String(),
  events: Type.Array(Type.String()),
  channel: nullable(Type.String()),
  description: nullable(Type.String()),
  status: Type.String({ description: 'active, or disabled after failing for 24 h' }),
  failing_since: nullable(moment),
  disabled_at: nullable(moment),
  created_at: moment,
  updated_at: moment,
  secret: Type.Optional(secret),
});

export const webhooksAnswer = Type.Object({ webhooks: Type.Array(webhookAnswer) });

export const deliveriesAnswer = Type.Object({
  deliveries: Type.Array(
    Type.Object({
      delivery_id: Type.String(),
      event_id: Type.String(),
      order_id: Type.String(),
      type: Type.String(),
      status: stringEnum(['pending', 'delivered', 'abandoned']),
      attempts: Type.Integer(),
      next_attempt_at: nullable(Type.String()),
      last_status: nullable(Type.Integer()),
      last_error: nullable(Type.String()),
      created_at: moment,
      delivered_at: nullable(moment),
      attempt_log: Type.Array(
        Type.Object({
          attempt: Type.Integer(),
          attempted_at: Type.String(),
          duration_ms: Type.Number(),
          status: nullable(Type.Integer()),
          error: nullable(Type.String()),
        }),
      ),
    }),
  ),
});

/**
 * API keys are made in platform/ (platform/apiKeys.ts, which imports no service), so their types are
 * written there; these lines keep the published schemas and those types the same, or the build fails.
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Mutable<T> =
  T extends ReadonlyArray<infer U> ? Mutable<U>[] : T extends object ? { -readonly [K in keyof T]: Mutable<T[K]> } : T;
export const apiKeySchemasMatchPlatform: [
  Same<Static<typeof apiKeyListing>, Mutable<ApiKeyListing>>,
  Same<Static<typeof createdApiKeyAnswer>, Mutable<CreatedApiKey>>,
] = [true, true];

const ageMs = nullable(Type.Integer({ minimum: 0, description: 'Milliseconds; null: nothing waits' }));

/** The ops page's overview (GET /api/v1/admin/ops): what no other endpoint answers, in one read. */
export const opsAnswer = Type.Object({
  generated_at: moment,
  orders_by_status: Type.Array(Type.Object({ status: Type.String(), count: Type.Integer() }), {
    description: 'Every order of the read model (order_view), by status',
  }),
  throughput: Type.Object({
    window_minutes: Type.Integer(),
    minutes: Type.Array(
      Type.Object({
        minute: moment,
        placed: Type.Integer({ description: 'Orders placed in this minute (order_view)' }),
        confirmed: Type.Integer({ description: 'Of those, confirmed so far (order_funnel)' }),
        rejected: Type.Integer({ description: 'Of those, rejected so far (order_funnel)' }),
        decision_p50_ms: nullable(Type.Integer()),
        decision_p95_ms: nullable(Type.Integer()),
      }),
      { description: 'Oldest first, one per minute of the window, empty minutes included' },
    ),
  }),
  api_requests: nullable(
    Type.Array(
      Type.Object({
        minute: moment,
        requests: Type.Integer(),
        p50_ms: nullable(Type.Integer()),
        p95_ms: nullable(Type.Integer()),
      }),
      {
        description:
          "This API process's /api/v1 requests (admin routes aside) per minute of the window and their latency, from its own request histogram; null: this process does not sample it",
      },
    ),
  ),
  relay: Type.Array(
    Type.Object({
      sink: Type.String(),
      checkpoint_at: moment,
      after_checkpoint: Type.Integer({
        description:
          'Outbox rows after its in-order checkpoint (counted up to 10000): not yet published, or published ahead of the horizon (decision 0011) while an older transaction in the cluster is still open',
      }),
      oldest_after_checkpoint_ms: ageMs,
    }),
  ),
  consumers: nullable(
    Type.Array(
      Type.Object({
        group: Type.String(),
        pending: Type.Integer(),
        backlog: Type.Integer(),
        oldest_pending_ms: ageMs,
        oldest_backlog_ms: ageMs,
        consumers: Type.Integer(),
        streams: Type.Integer(),
      }),
    ),
  ),
  heartbeats: nullable(
    Type.Array(Type.Object({ kind: Type.String(), instance: Type.String(), age_ms: Type.Integer(), fresh: Type.Boolean() })),
  ),
  breakers: nullable(
    Type.Array(
      Type.Object({
        partner: Type.String(),
        kind: Type.String(),
        instance: Type.String(),
        state: stringEnum(['closed', 'half-open', 'open'] as const),
        age_ms: Type.Integer(),
      }),
    ),
  ),
  dead_letters: Type.Array(Type.Object({ source: Type.String(), count: Type.Integer() }), {
    description: 'Dead letters waiting for an operator (status dead), by consumer',
  }),
  stuck_sagas: Type.Integer({ description: 'Sagas without progress for longer than stuck_after_ms' }),
  stuck_after_ms: Type.Integer(),
  unavailable: Type.Array(Type.String(), { description: 'Parts that could not be read now, with why' }),
});
export type OpsAnswer = Static<typeof opsAnswer>;
