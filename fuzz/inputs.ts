import fc from 'fast-check';
import { createUuidv7Generator } from '../platform/ids.js';

/**
 * Generated input for the fuzzer (fast-check arbitraries): values of every JSON type and of the shapes
 * that broke us before (ids in urn:uuid: form, leap seconds, U+0000, huge numbers), ids of every shape,
 * malformed JSON, odd headers and paths. Every arbitrary is pure given fast-check's seed, so a run is
 * replayed by its seed (ids the system minted in that run aside).
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const uuidv7At = (ms: number) => createUuidv7Generator()(ms);

/** Ids of every shape: the system's own (given), in other cases and wrappers, other versions, broken ones. */
export function idShapes(known: readonly string[]): fc.Arbitrary<string> {
  const uuid = fc.uuid();
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...known) },
    { weight: 1, arbitrary: fc.constantFrom(...known).map((id) => id.toUpperCase()) },
    { weight: 2, arbitrary: fc.uuid({ version: 4 }) },
    // UUIDv7 of any time: long ago, last year, far in the future (none is "new", so none is waited for).
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 2 ** 48 - 1 }).map(uuidv7At) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'),
    },
    {
      weight: 5,
      arbitrary: fc.tuple(fc.oneof(uuid, fc.constantFrom(...known)), fc.nat(9)).map(([id, how]) => {
        switch (how) {
          case 0:
            return `urn:uuid:${id}`;
          case 1:
            return `{${id}}`;
          case 2:
            return id.replace(/-/g, '');
          case 3:
            return id.slice(0, 35);
          case 4:
            return `${id}0`;
          case 5:
            return ` ${id}`;
          case 6:
            return id.replace(/[0-9]/, '٣'); // an Arabic-Indic digit
          case 7:
            return id.replace(/-/g, '_');
          case 8:
            return `${id}\u0000`;
          default:
            return id.replace(/[a-f]/, 'g');
        }
      }),
    },
    { weight: 1, arbitrary: fc.constantFrom('1', '-1', '0', '1e400', 'NaN', 'null', 'undefined', 'true', '*', '.', '..') },
    { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.integer({ min: 65, max: 2000 }).map((n) => 'a'.repeat(n)) },
  );
}

/** RFC 3339-ish date-times, good and bad (leap seconds, impossible dates, year 0, no offset, other formats). */
export const dateTimes: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '2026-06-30T23:59:60Z',
    '2016-12-31T23:59:60.999Z',
    '0000-01-01T00:00:00Z',
    '0001-01-01T00:00:00+14:00',
    '9999-12-31T23:59:59-14:00',
    '2026-02-30T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01 00:00:00Z',
    '2026-01-01t00:00:00z',
    '2026-01-01T00:00:00',
    '2026-01-01T00:00:00+99:99',
    '2026-01-01',
    '+275760-09-13T00:00:00Z',
    '-000001-01-01T00:00:00Z',
    'Tue, 30 Jun 2026 23:59:60 GMT',
    '1',
  ),
  fc
    .date({ min: new Date(Date.UTC(1, 0, 1)), max: new Date(Date.UTC(9999, 11, 31)), noInvalidDate: true })
    .map((d) => d.toISOString()),
);

/** Numbers a JSON body can carry that our columns cannot (and some they can). */
export const numbers: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, -1, 1, 1.5, -1.5, 2 ** 31, 2 ** 31 - 1, -(2 ** 31) - 1, 2 ** 53 + 2, 2 ** 63, 1e308, -1e308, 5e-324),
  fc.integer(),
  fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Strings a JSON body can carry: empty, long, control characters, RTL marks, emoji, lone surrogates, injections. */
export const strings: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\u202e\u202d',
    '\ud800',
    '😀',
    '../../etc/passwd',
    '..\\..\\windows',
    "' OR 1=1 --",
    '<script>alert(1)</script>',
    '%00',
    'NaN',
    'tok_visa',
    'tok_chargeDeclined',
    'USD',
    'usd',
    'web',
    'card',
  ),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.integer({ min: 100, max: 70_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 10, max: 2_000 }).map((n) => '😀'.repeat(n)),
);

/** Any value a field may be set to: of every JSON type, ids and dates included. */
export function weirdValues(known: readonly string[]): fc.Arbitrary<Json> {
  return fc.oneof(
    { weight: 3, arbitrary: strings },
    { weight: 3, arbitrary: numbers },
    { weight: 2, arbitrary: idShapes(known) },
    { weight: 1, arbitrary: dateTimes },
    { weight: 1, arbitrary: fc.constantFrom<Json>(null, true, false, [], {}, [null], { $ne: null }, { '': '' }) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
  );
}

type Path = ReadonlyArray<string | number>;

function pathsOf(value: Json, prefix: Path = []): Path[] {
  if (Array.isArray(value)) return [prefix, ...value.flatMap((v, i) => pathsOf(v, [...prefix, i]))];
  if (value !== null && typeof value === 'object')
    return [prefix, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
  return [prefix];
}

function clone<T extends Json>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Applies one edit at a path (a missing parent makes the edit a no-op); a path of [] replaces the whole value. */
function edit(root: Json, path: Path, change: (parent: Json[] | JsonObject, key: string | number) => void): Json {
  if (path.length === 0) return root;
  let parent: Json = root;
  for (const key of path.slice(0, -1)) {
    if (parent === null || typeof parent !== 'object') return root;
    parent = (parent as Record<string | number, Json>)[key] ?? null;
  }
  if (parent === null || typeof parent !== 'object') return root;
  change(parent, path[path.length - 1] as string | number);
  return root;
}

type Mutation =
  { kind: 'set'; path: Path; value: Json } | { kind: 'delete'; path: Path } | { kind: 'grow'; path: Path; times: number };

function mutate(base: Json, mutations: readonly Mutation[]): Json {
  let value = clone(base);
  for (const m of mutations) {
    if (m.path.length === 0) {
      if (m.kind === 'set') value = m.value;
      continue;
    }
    value = edit(value, m.path, (parent, key) => {
      const record = parent as Record<string | number, Json>;
      if (m.kind === 'set') record[key] = m.value;
      else if (m.kind === 'delete') {
        if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
        else delete record[key];
      } else {
        // Many copies of an element or a field's value: long arrays, duplicate lines.
        const target = record[key];
        if (Array.isArray(target) && target.length > 0)
          record[key] = Array.from({ length: m.times }, (_, i) => target[i % target.length] as Json);
      }
    });
  }
  return value;
}

function valueAt(root: Json, path: Path): Json | undefined {
  let value: Json | undefined = root;
  for (const key of path)
    value = value !== null && typeof value === 'object' ? (value as Record<string | number, Json>)[key] : undefined;
  return value;
}

const UUID_LIKE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Values of the field's own kind, the ones most likely to pass the schema and reach the database. */
function sameKind(value: Json | undefined, known: readonly string[]): fc.Arbitrary<Json> {
  if (typeof value === 'string') {
    if (UUID_LIKE.test(value)) return idShapes(known);
    const edges = fc.constantFrom(
      '\u0000',
      'a\u0000b',
      '\ud800',
      '',
      'x'.repeat(65),
      'x'.repeat(10_001),
      '2026-06-30T23:59:60Z',
      `urn:uuid:${known[0] ?? ''}`,
      '😀',
    );
    return fc.oneof({ weight: 3, arbitrary: edges }, { weight: 2, arbitrary: strings }, { weight: 1, arbitrary: dateTimes });
  }
  if (typeof value === 'number') {
    const edges = fc.constantFrom(-1, 0, 1.5, 2 ** 31, 2 ** 53 + 2, 1e21, 1e308, -1e308);
    return fc.oneof({ weight: 3, arbitrary: edges }, { weight: 2, arbitrary: numbers });
  }
  return weirdValues(known);
}

/** A body as its fields mutate: the valid one, one to three fields set to anything, deleted or grown, or an unknown field added. */
export function mutatedJson(base: Json, known: readonly string[]): fc.Arbitrary<Json> {
  const paths = pathsOf(base);
  const path = fc.constantFrom(...paths);
  const set = path.chain((at) =>
    fc
      .oneof({ weight: 3, arbitrary: sameKind(valueAt(base, at), known) }, { weight: 2, arbitrary: weirdValues(known) })
      .map((value): Mutation => ({ kind: 'set', path: at, value })),
  );
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    { weight: 5, arbitrary: set },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), path }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('grow' as const), path, times: fc.constantFrom(2, 3, 200, 201, 1_000) }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(...paths),
          fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'price', 'status')),
          weirdValues(known),
        )
        .map(([at, key, value]): Mutation => ({ kind: 'set', path: [...at, key], value })),
    },
  );
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(base) },
    // Mostly one bad field in an otherwise valid body: the request most likely to get past the schema to the database.
    { weight: 6, arbitrary: mutation.map((m) => mutate(base, [m])) },
    { weight: 2, arbitrary: fc.array(mutation, { minLength: 2, maxLength: 3 }).map((ms) => mutate(base, ms)) },
  );
}

/** A body as sent: JSON text of the value, or text no JSON parser takes, or bytes that are no UTF-8. */
export function bodyText(value: fc.Arbitrary<Json>): fc.Arbitrary<string | Buffer> {
  const malformed = fc.oneof(
    value.chain((v) => {
      const text = JSON.stringify(v) ?? 'null';
      return fc.nat(Math.max(0, text.length - 1)).map((n) => text.slice(0, n)); // cut short
    }),
    value.map((v) => `${JSON.stringify(v)} trailing`),
    value.map((v) => `\ufeff${JSON.stringify(v)}`), // a byte order mark
    value.map((v) => JSON.stringify(v).replace(/}$/, ',}')),
    fc.constantFrom(
      '',
      '{',
      'nul',
      '{"a":}',
      "{'customer_id': 'c'}",
      '{"amount": 1e999}',
      '{"on_hand": 123456789012345678901234567890}',
      '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}',
      '{"customer_id": "a", "customer_id": "b"}',
      `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
      `{"a":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_001)}`,
    ),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => Buffer.from([0xff, 0xfe, ...bytes])),
  );
  return fc.oneof({ weight: 8, arbitrary: value.map((v) => JSON.stringify(v) ?? 'null') }, { weight: 2, arbitrary: malformed });
}

/** Characters a header value may carry on the wire (what Node's client lets through: tab, visible ASCII, Latin-1). */
const headerText = (maxLength: number) =>
  fc
    .array(fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constantFrom(0x09, 0xa0, 0xe9, 0xff)), { maxLength })
    .map((codes) => String.fromCharCode(...codes));

export const contentTypes: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      undefined,
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'application/json; charset="utf-8"',
      'application/merge-patch+json',
      'application/problem+json',
      'text/plain',
      'text/html',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'application/json, text/plain',
      '*/*',
      ';;;',
      'application/',
    ),
  },
  { weight: 1, arbitrary: headerText(60) },
);

export const idempotencyKeys: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.uuid() },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ' ', 'k'.repeat(255), 'k'.repeat(256), 'k'.repeat(8_000), 'key\twith\ttabs', 'clé'),
  },
  { weight: 1, arbitrary: headerText(80) },
);

export function ifMatches(known: readonly string[]): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(
      '"1"',
      '"0"',
      '1',
      '0',
      '*',
      'W/"1"',
      '"1", "2"',
      ', ,',
      '""',
      '"',
      'abc',
      '*, "1"',
      '"99999999999999999999"',
      '-1',
    ),
    fc.tuple(fc.constantFrom(...known), fc.nat(20)).map(([id, v]) => `"${id}:${v}"`),
    headerText(40),
  );
}

export const accepts: fc.Arbitrary<string | undefined> = fc.constantFrom(
  undefined,
  'application/json',
  'text/html',
  'application/pdf',
  '*/*',
  'image/png',
  'text/html;q=0.1, application/pdf;q=0.9',
  ';;',
);

/** A query string: the route's own parameters with good and bad values, repeated ones, unknown ones. */
export function queryStrings(params: Readonly<Record<string, fc.Arbitrary<string>>>): fc.Arbitrary<string> {
  const names = Object.keys(params);
  const pair = fc.oneof(
    ...names.map((name) => (params[name] as fc.Arbitrary<string>).map((value) => [name, value] as const)),
    fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })),
  );
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant('') },
    {
      weight: 5,
      arbitrary: fc
        .array(pair, { minLength: 1, maxLength: 4 })
        .map((pairs) => `?${pairs.map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(v)}`).join('&')}`),
    },
    { weight: 1, arbitrary: fc.constantFrom('?', '?&&', '?a[b]=c', '?%ZZ=1', '?limit=1&limit=2', '?=', '?cursor=%00') },
  );
}

/** Percent-encodes a path segment or query value byte by byte (a lone surrogate becomes U+FFFD, as UTF-8 would carry it). */
export function encodeSegment(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A path segment: an id of any shape, encoded, or a raw traversal or broken escape. */
export function segments(known: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: idShapes(known).map(encodeSegment) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '..',
        '../..',
        '..%2F..%2Fhealth',
        '%2e%2e',
        '%2e%2e%2f%2e%2e',
        '%E0%A4%A',
        '%ZZ',
        '%00',
        '%',
        '.%00.',
        '~',
      ),
    },
  );
}
