import { OrderEventType } from '../../domain/events.js';

/** Outbound webhook subscriptions (contract §8). */

export interface WebhookBody {
  readonly url: string;
  readonly events: readonly string[];
  readonly description?: string;
}

export const webhookBody = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'events'],
  properties: {
    url: { type: 'string', minLength: 8, maxLength: 2048, pattern: '^https?://[^\\s]+$' },
    events: {
      type: 'array',
      minItems: 1,
      maxItems: 64,
      uniqueItems: true,
      items: { type: 'string', enum: Object.values(OrderEventType) },
    },
    description: { type: 'string', maxLength: 500 },
  },
} as const;

export const webhookIdParams = {
  type: 'object',
  required: ['webhook_id'],
  properties: {
    webhook_id: { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' },
  },
} as const;

export interface DeliveriesQuery {
  readonly status?: 'pending' | 'delivered' | 'abandoned';
  readonly limit?: string;
}

export const deliveriesQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: ['pending', 'delivered', 'abandoned'] },
    limit: { type: 'string', pattern: '^(?:[1-9][0-9]{0,2}|1000)$' },
  },
} as const;
