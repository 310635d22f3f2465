/**
 * RFC 9457 problem details. Every error a client can see is a Problem with a stable `type` URI naming
 * the reason, so clients branch on `type`, never on `detail` text.
 */
/** Problem types are relative URIs under the API (RFC 9457 §3.1.1); the slug names the reason. */
export const PROBLEM_BASE = '/problems/';

/** One bad input: `pointer` is a JSON pointer into the body; path/query parameters and headers are named. */
export interface FieldError {
  readonly detail: string;
  readonly pointer?: string;
  readonly parameter?: string;
  readonly header?: string;
}

export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance?: string;
  readonly errors?: readonly FieldError[];
  readonly [extension: string]: unknown;
}

export class Problem extends Error {
  readonly status: number;
  readonly slug: string;
  readonly title: string;
  readonly errors: readonly FieldError[] | undefined;
  readonly extensions: Readonly<Record<string, unknown>>;

  constructor(
    status: number,
    slug: string,
    title: string,
    detail: string,
    options: { errors?: readonly FieldError[]; extensions?: Record<string, unknown> } = {},
  ) {
    super(detail);
    this.name = 'Problem';
    this.status = status;
    this.slug = slug;
    this.title = title;
    this.errors = options.errors;
    this.extensions = options.extensions ?? {};
  }

  toBody(instance?: string): ProblemBody {
    return {
      ...this.extensions,
      type: PROBLEM_BASE + this.slug,
      title: this.title,
      status: this.status,
      detail: this.message,
      ...(instance === undefined ? {} : { instance }),
      ...(this.errors === undefined ? {} : { errors: this.errors }),
    };
  }
}

export const problems = Object.freeze({
  validation: (errors: readonly FieldError[]) =>
    new Problem(400, 'validation-error', 'Request is invalid', describeFieldErrors(errors), { errors }),
  malformedJson: (detail: string) => new Problem(400, 'malformed-json', 'Request body is not valid JSON', detail),
  payloadTooLarge: (limit: string) =>
    new Problem(413, 'payload-too-large', 'Request body is too large', `The body exceeds the limit of ${limit}.`),
  unsupportedMediaType: (type: string) =>
    new Problem(415, 'unsupported-media-type', 'Unsupported media type', `Send application/json, not ${type}.`),
  notFound: (what: string, id: string) => new Problem(404, 'not-found', `${what} not found`, `No ${what.toLowerCase()} ${id}.`),
  routeNotFound: (method: string, path: string) =>
    new Problem(404, 'route-not-found', 'No such endpoint', `${method} ${path} is not an endpoint of this API.`),
  methodNotAllowed: (method: string, path: string) =>
    new Problem(405, 'method-not-allowed', 'Method not allowed', `${method} is not allowed on ${path}.`),
  invalidValue: () =>
    new Problem(
      400,
      'invalid-value',
      'Request has a value that cannot be stored',
      'A value in the request is not one the database can take (an id, a date, a number out of range or text it cannot store).',
    ),
  internal: () => new Problem(500, 'internal-error', 'Internal error', 'The request failed; it is safe to retry.'),
  unavailable: (detail: string) => new Problem(503, 'service-unavailable', 'Service unavailable', detail),
});

function describeFieldErrors(errors: readonly FieldError[]): string {
  const first = errors[0];
  if (first === undefined) return 'The request is invalid.';
  const where =
    first.pointer !== undefined
      ? first.pointer === ''
        ? 'body'
        : first.pointer
      : first.parameter !== undefined
        ? `parameter ${first.parameter}`
        : `header ${first.header ?? '?'}`;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return `${where}: ${first.detail}${more}`;
}

/**
 * SQLSTATE class 22, "data exception": PostgreSQL refused a value (22P02 bad text for a type, 22007 and
 * 22008 bad dates, 22003 numbers out of range, 22001 text too long, 22021 and 22P05 characters it
 * cannot store, 22023, 2201X …). Only input can cause one, so it is the client's 400, never a 500: the
 * backstop behind the schemas, which should have refused the value first.
 */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code);
}
