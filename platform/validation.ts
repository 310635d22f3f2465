import type { Static, TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type JSONSchemaType, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { UUID_RE } from './ids.js';
import { isMoment } from './moments.js';
import { problems, type FieldError } from './problem.js';

// ajv-formats is CommonJS with a default export; under NodeNext its callable sits on .default.
const addFormats = addFormatsModule as unknown as { default: (ajv: Ajv) => Ajv };

/** One ajv instance per process: schemas compile once, at start-up, never per request. */
const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: false, coerceTypes: false });
addFormats.default(ajv);
// ajv-formats' `uuid` also takes `urn:uuid:<id>`, which PostgreSQL's uuid type refuses (a 500 once):
// `format: 'uuid'` here is the canonical 8-4-4-4-12 form only (platform/ids).
ajv.addFormat('uuid', UUID_RE);
// ajv-formats' `date-time` takes a leap second, which became an Invalid Date and then a 500, and a
// space for `T`: `format: 'date-time'` here is what platform/moments parses.
ajv.addFormat('date-time', { type: 'string', validate: isMoment });
// Text PostgreSQL can store: anything but U+0000, which neither text nor jsonb can hold.
ajv.addFormat('storable-text', { type: 'string', validate: (text: string) => !text.includes('\u0000') });

/** What a failed format check tells the client, by format (ajv's own text names only the format). */
const FORMAT_DETAILS: Readonly<Record<string, string>> = {
  uuid: 'must be a UUID: 8-4-4-4-12 hexadecimal digits, such as 0190a8e4-5c3b-7d2e-8f00-000000000001',
  'storable-text': 'must not contain U+0000 (NUL), which cannot be stored',
  'date-time':
    'must be an RFC 3339 date-time such as 2026-06-30T23:59:59Z: a real date from year 0001, seconds 00 to 59 (no leap second), Z or an offset',
};

export type Schema<T> = JSONSchemaType<T>;

export interface Validator<T> {
  /** Returns the value typed, or throws a 400 problem naming every bad field. */
  (value: unknown): T;
}

type Location = 'body' | 'parameter' | 'header';

/**
 * A validator for a schema: a TypeBox schema gives its own type (`Static`), so the schema is written
 * once; a plain JSON schema needs the type named (`compileValidator<T>(schema)`).
 */
export function compileValidator<S extends TSchema>(schema: S, location?: Location): Validator<Static<S>>;
export function compileValidator<T>(schema: Schema<T> | object, location?: Location): Validator<T>;
export function compileValidator<T>(schema: Schema<T> | object, location: Location = 'body'): Validator<T> {
  const validate = ajv.compile(schema) as ValidateFunction<T>;
  return (value: unknown): T => {
    if (validate(value)) return value;
    throw problems.validation(toFieldErrors(validate.errors ?? [], location));
  };
}

function toFieldErrors(errors: readonly ErrorObject[], location: Location): FieldError[] {
  const seen = new Set<string>();
  const result: FieldError[] = [];
  for (const error of errors) {
    let pointer = error.instancePath;
    let detail = error.message ?? 'is invalid';
    if (error.keyword === 'required') {
      const missing = String((error.params as { missingProperty: string }).missingProperty);
      pointer = `${pointer}/${escapePointer(missing)}`;
      detail = 'is required';
    } else if (error.keyword === 'additionalProperties') {
      const extra = String((error.params as { additionalProperty: string }).additionalProperty);
      pointer = `${pointer}/${escapePointer(extra)}`;
      detail = 'is not a known field';
    } else if (error.keyword === 'enum') {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
      detail = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (error.keyword === 'format') {
      detail = FORMAT_DETAILS[String((error.params as { format: string }).format)] ?? detail;
    } else if (error.keyword === 'if') {
      continue; // the failing branch reports its own errors
    }
    const key = `${pointer}\u0000${detail}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (location === 'body') result.push({ pointer, detail });
    else {
      const name = pointer.replace(/^\//, '');
      result.push(location === 'parameter' ? { parameter: name, detail } : { header: name, detail });
    }
  }
  return result;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}
