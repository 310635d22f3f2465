import { Type, type Static } from '@sinclair/typebox';

/** Marketplaces that push their orders as signed webhooks (contract §8). */
export const marketplaceBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);
export type MarketplaceBody = Static<typeof marketplaceBody>;

export const marketplaceId = Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' });
export const marketplaceParams = Type.Object({ marketplace_id: marketplaceId });
