import { Type, type Static } from '@sinclair/typebox';
import { DeadLetterStatus } from '../../platform/deadLetters.js';
import { API_CHANNELS, SCOPES, type ApiChannel } from '../../platform/access.js';
import { limitParam, stringEnum, text } from './common.js';

/** The admin endpoints' parameters (contract §8: the `admin` scope; dead letters, issue 11). */

/** A dead letter's id: a plain UUID, nothing else PostgreSQL would have to refuse. */
export const plainUuid = Type.String({
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
});

export const deadLetterIdParams = Type.Object({ id: plainUuid });

export const deadLetterQuery = Type.Object(
  {
    group: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    status: Type.Optional(stringEnum(Object.values(DeadLetterStatus))),
    limit: Type.Optional(limitParam),
  },
  { additionalProperties: false },
);
export type DeadLetterQuery = Static<typeof deadLetterQuery>;

export const sagaQuery = Type.Object(
  { stuck: Type.Optional(stringEnum(['true', 'false'])), limit: Type.Optional(limitParam) },
  { additionalProperties: false },
);
export type SagaQuery = Static<typeof sagaQuery>;

/** `POST /api/v1/admin/api-keys` (contract §8). */
export const apiKeyBody = Type.Object(
  {
    name: text(200),
    channel: Type.Optional(Type.Unsafe<ApiChannel | null>({ type: ['string', 'null'], enum: [...API_CHANNELS, null] })),
    scopes: Type.Array(stringEnum(SCOPES), { minItems: 1, maxItems: 20, uniqueItems: true }),
    rate_limit: Type.Optional(
      Type.Object(
        {
          per_second: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
          burst: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type ApiKeyBody = Static<typeof apiKeyBody>;

export const apiKeyIdParams = Type.Object({ key_id: plainUuid });
