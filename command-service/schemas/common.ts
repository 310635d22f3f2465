import { CLIENT_ID_PATTERN } from '../../domain/ids.js';
import { CHANNELS, MAX_LINE_QUANTITY } from '../../domain/order.js';
import { mergeLines, type RequestedLine } from '../../domain/pricing.js';
import { problems, type FieldError } from '../../platform/problem.js';

/** Building blocks shared by the command schemas (contract §2). */
export const clientId = { type: 'string', pattern: CLIENT_ID_PATTERN } as const;
export const uuid = { type: 'string', format: 'uuid' } as const;
export const currency = { type: 'string', pattern: '^[A-Z]{3}$' } as const;
export const channel = { type: 'string', enum: [...CHANNELS] } as const;
export const quantity = { type: 'integer', minimum: 1, maximum: MAX_LINE_QUANTITY } as const;
export const text = (maxLength: number) => ({ type: 'string', format: 'storable-text', minLength: 1, maxLength }) as const;

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
    line2: { type: 'string', format: 'storable-text', maxLength: 200 },
    city: text(100),
    postal_code: text(20),
    country: { type: 'string', pattern: '^[A-Z]{2}$' },
    lat: { type: 'number', minimum: -90, maximum: 90 },
    lon: { type: 'number', minimum: -180, maximum: 180 },
  },
  dependencies: { lat: ['lon'], lon: ['lat'] },
} as const;

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
