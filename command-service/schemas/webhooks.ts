import { Type, type Static } from '@sinclair/typebox';
import { OrderEventType } from '../../domain/events.js';
import { limitParam, stringEnum } from './common.js';

/** Outbound webhook subscriptions (contract §8). */

export const webhookEventTypes = stringEnum(Object.values(OrderEventType));

export const webhookBody = Type.Object(
  {
    url: Type.String({ minLength: 8, maxLength: 2048, pattern: '^https?://[^\\s]+$' }),
    events: Type.Array(webhookEventTypes, { minItems: 1, maxItems: 64, uniqueItems: true }),
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type WebhookBody = Static<typeof webhookBody>;

export const webhookIdParams = Type.Object({
  webhook_id: Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' }),
});

export const deliveriesQuery = Type.Object(
  { status: Type.Optional(stringEnum(['pending', 'delivered', 'abandoned'])), limit: Type.Optional(limitParam) },
  { additionalProperties: false },
);
export type DeliveriesQuery = Static<typeof deliveriesQuery>;
