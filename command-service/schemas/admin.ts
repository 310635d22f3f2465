import { DeadLetterStatus } from '../../platform/deadLetters.js';
import { API_CHANNELS, SCOPES, type ApiChannel, type ScopeName } from '../../platform/access.js';

/** The admin endpoints' parameters (contract §8: the `admin` scope; dead letters, issue 11). */

/** A dead letter's id: a plain UUID, nothing else PostgreSQL would have to refuse. */
export const deadLetterIdParams = {
  type: 'object',
  required: ['id'],
  properties: {
    id: { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' },
  },
} as const;

export interface DeadLetterQuery {
  readonly group?: string;
  readonly status?: 'dead' | 'redriven' | 'discarded';
  readonly limit?: string;
}

export const deadLetterQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    group: { type: 'string', minLength: 1, maxLength: 200 },
    status: { type: 'string', enum: Object.values(DeadLetterStatus) },
    limit: { type: 'string', pattern: '^(?:[1-9][0-9]{0,2}|1000)$' },
  },
} as const;

/** `POST /api/v1/admin/api-keys` (contract §8). */
export interface ApiKeyBody {
  readonly name: string;
  readonly channel?: ApiChannel | null;
  readonly scopes: readonly ScopeName[];
  readonly rate_limit?: { readonly per_second: number; readonly burst: number };
}

export const apiKeyBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'scopes'],
  properties: {
    name: { type: 'string', format: 'storable-text', minLength: 1, maxLength: 200 },
    channel: { type: ['string', 'null'], enum: [...API_CHANNELS, null] },
    scopes: { type: 'array', minItems: 1, maxItems: 20, uniqueItems: true, items: { type: 'string', enum: [...SCOPES] } },
    rate_limit: {
      type: 'object',
      additionalProperties: false,
      required: ['per_second', 'burst'],
      properties: {
        per_second: { type: 'integer', minimum: 1, maximum: 1_000_000 },
        burst: { type: 'integer', minimum: 1, maximum: 1_000_000 },
      },
    },
  },
} as const;

export const apiKeyIdParams = {
  type: 'object',
  required: ['key_id'],
  properties: { key_id: deadLetterIdParams.properties.id },
} as const;
