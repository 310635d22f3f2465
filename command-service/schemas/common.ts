import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { CLIENT_ID_PATTERN } from '../../domain/ids.js';
import { CHANNELS, MAX_LINE_QUANTITY } from '../../domain/order.js';
import { mergeLines, type RequestedLine } from '../../domain/pricing.js';
import { problems, type FieldError } from '../../platform/problem.js';

/**
 * Building blocks shared by the command schemas (contract §2). Every schema of the API is written once,
 * with TypeBox: ajv validates with it (platform/validation), its TypeScript type is `Static<typeof it>`,
 * and the OpenAPI document (api/openapi) publishes it.
 */

/**
 * A string out of a fixed list, as JSON Schema's `enum` (TypeBox's unions become `anyOf`, whose errors
 * would no longer read "must be one of …").
 */
export function stringEnum<const T extends string>(values: readonly T[], options: Record<string, unknown> = {}): TUnsafe<T> {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
}

/** Exactly one of these schemas (`oneOf`; TypeBox's Union is `anyOf`). */
export function oneOf<const T extends readonly TSchema[]>(schemas: T): TUnsafe<Static<T[number]>> {
  return Type.Unsafe<Static<T[number]>>({ oneOf: [...schemas] });
}

export const clientId = Type.String({ pattern: CLIENT_ID_PATTERN });
export const uuid = Type.String({ format: 'uuid' });
export const currency = Type.String({ pattern: '^[A-Z]{3}$' });
export const channel = stringEnum(CHANNELS);
export const quantity = Type.Integer({ minimum: 1, maximum: MAX_LINE_QUANTITY });
export const text = (maxLength: number) => Type.String({ format: 'storable-text', minLength: 1, maxLength });
/** A page size or count sent as a query parameter (1–1000). */
export const limitParam = Type.String({ pattern: '^(?:[1-9][0-9]{0,2}|1000)$' });

export const lineItem = Type.Object({ sku: clientId, quantity }, { additionalProperties: false });
export type LineBody = Static<typeof lineItem>;

export const lineItems = Type.Array(lineItem, { minItems: 1, maxItems: 200 });

export const address = Type.Object(
  {
    name: text(200),
    line1: text(200),
    line2: Type.Optional(Type.String({ format: 'storable-text', maxLength: 200 })),
    city: text(100),
    postal_code: text(20),
    country: Type.String({ pattern: '^[A-Z]{2}$' }),
    lat: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
    lon: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
  },
  { additionalProperties: false, dependencies: { lat: ['lon'], lon: ['lat'] } },
);
export type AddressBody = Static<typeof address>;

/**
 * Lines naming one SKU become one line (README), so the per-line cap is checked on the merged lines:
 * 200 lines of 100 000 units each pass the schema line by line and would make one line of 20 000 000.
 * A merged line over the cap is a schema violation (400) naming the SKU, at `pointer`.
 */
export function mergedLineErrors(lines: readonly RequestedLine[], pointer: string): FieldError[] {
  return mergeLines(lines)
    .filter((line) => line.quantity > MAX_LINE_QUANTITY)
    .map((line) => ({
      pointer,
      detail: `the lines naming ${line.sku} add up to ${line.quantity} units; at most ${MAX_LINE_QUANTITY} per SKU`,
    }));
}

/** Throws the 400 of mergedLineErrors, if any. */
export function checkMergedLines(lines: readonly RequestedLine[] | undefined, pointer: string): void {
  const errors = mergedLineErrors(lines ?? [], pointer);
  if (errors.length > 0) throw problems.validation(errors);
}
