import { randomBytes } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits. Ids sort by creation time, so B-tree
 * inserts stay append-mostly, and an order id tells which monthly partition holds the order.
 * Within one millisecond a 12-bit counter in rand_a keeps ids from one generator monotonic; a clock
 * that steps back reuses the last millisecond rather than going back in order.
 */
export type UuidV7Generator = (now?: number) => string;

/** A generator with its own monotonic state (tests make fresh ones; the process shares `uuidv7`). */
export function createUuidv7Generator(): UuidV7Generator {
  let lastMs = -1;
  let counter = 0;
  return (now = Date.now()) => {
    let ms = now;
    if (ms <= lastMs) {
      counter++;
      if (counter > 0xfff) {
        // Counter exhausted within one millisecond: borrow the next millisecond.
        lastMs++;
        counter = 0;
      }
      ms = lastMs;
    } else {
      lastMs = ms;
      counter = randomUint16() & 0x3ff; // leave headroom for increments
    }
    const bytes = randomBlock();
    bytes.writeUIntBE(ms, 0, 6);
    bytes[6] = 0x70 | ((counter >> 8) & 0x0f);
    bytes[7] = counter & 0xff;
    bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
}

/** Random bytes drawn from the OS 4 KiB at a time: one system call for 256 ids instead of two per id. */
const RANDOM_POOL_SIZE = 4096;
let randomPool = Buffer.alloc(0);
let randomOffset = 0;

function randomTake(size: number): Buffer {
  if (randomOffset + size > randomPool.length) {
    randomPool = randomBytes(RANDOM_POOL_SIZE);
    randomOffset = 0;
  }
  const taken = randomPool.subarray(randomOffset, randomOffset + size);
  randomOffset += size;
  return taken;
}

/**
 * Random bytes from the same pool (a view, valid until the next call: read it at once). For ids that
 * need no secrecy beyond unguessability, such as trace and span ids (platform/traceparent).
 */
export function pooledRandomBytes(size: number): Buffer {
  return randomTake(size);
}

/** 16 random bytes of the id's own (a copy: the caller writes the time and version into it). */
function randomBlock(): Buffer {
  return Buffer.from(randomTake(16));
}

function randomUint16(): number {
  return randomTake(2).readUInt16BE(0);
}

export const uuidv7: UuidV7Generator = createUuidv7Generator();

/**
 * The one text form of a UUID this API takes (RFC 9562 §4): 8-4-4-4-12 hexadecimal digits, nothing
 * around them (no `urn:uuid:`, no braces). Hex digits are case-insensitive on input, as the RFC says;
 * every answer carries the lower-case form, and ids taken from a request are lower-cased at the edge
 * (`canonicalUuid`) because they are compared as text downstream (ETags, order lines).
 */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UUIDV7_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

/** The canonical (lower-case) form of a UUID that passed `isUuid`. */
export function canonicalUuid(value: string): string {
  return value.toLowerCase();
}

export function isUuidv7(value: string): boolean {
  return UUIDV7_RE.test(value);
}

/** The creation time a UUIDv7 carries (millisecond precision). */
export function uuidv7Time(id: string): Date {
  const hex = id.replace(/-/g, '').slice(0, 12);
  return new Date(Number.parseInt(hex, 16));
}
