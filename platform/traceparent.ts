import { pooledRandomBytes } from './ids.js';

/**
 * W3C Trace Context (`traceparent`) and `X-Request-Id`, parsed and made without I/O: what the edge
 * accepts, what it generates, and the child span id each hop (a worker, a partner call) puts in the
 * header it sends. `random` is injectable so tests can fix it.
 */
export interface TraceParent {
  /** 32 lower-case hex digits, not all zero: the whole journey's id. */
  readonly traceId: string;
  /** 16 lower-case hex digits, not all zero: the span (operation) that sent or will send it. */
  readonly parentId: string;
  /** 2 hex digits; bit 0 is "sampled". */
  readonly flags: string;
}

export type RandomBytes = (size: number) => Buffer;

const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ALL_ZERO = /^0+$/;

/**
 * A `traceparent` header, or undefined when it does not parse as the W3C recommendation says: version
 * `ff` is invalid, version `00` has exactly four fields, a later version may add fields after them (we
 * read the four we know), ids that are all zeros are invalid, upper-case hex is invalid.
 */
export function parseTraceparent(header: string | undefined): TraceParent | undefined {
  if (header === undefined || header.length < 55 || header.length > 512) return undefined;
  const match = TRACEPARENT_RE.exec(header);
  if (match === null) return undefined;
  const [, version, traceId, parentId, flags, rest] = match as unknown as [string, string, string, string, string, string?];
  if (version === 'ff') return undefined;
  if (version === '00' && rest !== undefined) return undefined;
  if (ALL_ZERO.test(traceId) || ALL_ZERO.test(parentId)) return undefined;
  return { traceId, parentId, flags };
}

/** The header form, always version 00 (the only one we write). */
export function formatTraceparent(trace: TraceParent): string {
  return `00-${trace.traceId}-${trace.parentId}-${trace.flags}`;
}

function nonZeroHex(bytes: number, random: RandomBytes): string {
  for (;;) {
    const hex = random(bytes).toString('hex');
    if (!ALL_ZERO.test(hex)) return hex;
  }
}

/** A new trace (nothing came in, or what came in did not parse), sampled. */
export function newTrace(random: RandomBytes = pooledRandomBytes): TraceParent {
  return { traceId: nonZeroHex(16, random), parentId: nonZeroHex(8, random), flags: '01' };
}

/** The same trace with a span of our own: what a hop that received `parent` sends on. */
export function childSpan(parent: TraceParent, random: RandomBytes = pooledRandomBytes): TraceParent {
  return { traceId: parent.traceId, parentId: nonZeroHex(8, random), flags: parent.flags };
}

/** A header value as `traceparent`, continued by a span of ours; or a new trace when it does not parse. */
export function continueTrace(header: string | undefined, random: RandomBytes = pooledRandomBytes): TraceParent {
  const parent = parseTraceparent(header);
  return parent === undefined ? newTrace(random) : childSpan(parent, random);
}

/**
 * An `X-Request-Id` we take as the correlation id: 1–128 characters of letters, digits and
 * `. _ - : / + = @` (a UUID, a ULID, a load balancer's id all qualify); anything else — empty, too long,
 * spaces or control characters that would forge log lines or headers — is ignored (we generate one).
 */
const REQUEST_ID_RE = /^[A-Za-z0-9._\-:/+=@]{1,128}$/;

export function parseRequestId(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && REQUEST_ID_RE.test(value) ? value : undefined;
}

/** The correlation id of a request: its X-Request-Id when acceptable, else its trace id. */
export function correlationIdOf(requestId: string | undefined, trace: TraceParent): string {
  return requestId ?? trace.traceId;
}
