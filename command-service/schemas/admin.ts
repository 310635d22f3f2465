import { DeadLetterStatus } from '../../platform/deadLetters.js';

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
