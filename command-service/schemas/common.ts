import { CLIENT_ID_PATTERN } from '../../domain/ids.js';
import { CHANNELS } from '../../domain/order.js';

/** Building blocks shared by the command schemas (contract §2). */
export const clientId = { type: 'string', pattern: CLIENT_ID_PATTERN } as const;
export const uuid = { type: 'string', format: 'uuid' } as const;
export const currency = { type: 'string', pattern: '^[A-Z]{3}$' } as const;
export const channel = { type: 'string', enum: [...CHANNELS] } as const;
export const quantity = { type: 'integer', minimum: 1, maximum: 100_000 } as const;
export const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength }) as const;

export const lineItems = {
  type: 'array',
  minItems: 1,
  maxItems: 200,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['sku', 'quantity'],
    properties: { sku: clientId, quantity },
  },
} as const;

export const address = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'line1', 'city', 'postal_code', 'country'],
  properties: {
    name: text(200),
    line1: text(200),
    line2: { type: 'string', maxLength: 200 },
    city: text(100),
    postal_code: text(20),
    country: { type: 'string', pattern: '^[A-Z]{2}$' },
    lat: { type: 'number', minimum: -90, maximum: 90 },
    lon: { type: 'number', minimum: -180, maximum: 180 },
  },
  dependencies: { lat: ['lon'], lon: ['lat'] },
} as const;
