import type { ApiChannel, RateLimit, ScopeName } from '../../platform/access.js';
import { createApiKey, type CreatedApiKey } from '../../platform/apiKeys.js';
import type { Queryable } from '../../platform/db.js';
import { uniqueId } from './env.js';

/** A key of the test's own in this schema (an admin key unless told otherwise). */
export async function createTestKey(
  db: Queryable,
  options: { name?: string; channel?: ApiChannel | null; scopes?: readonly ScopeName[]; rateLimit?: RateLimit } = {},
): Promise<CreatedApiKey> {
  return createApiKey(db, {
    name: options.name ?? uniqueId('test-key'),
    channel: options.channel ?? null,
    scopes: options.scopes ?? ['admin'],
    ...(options.rateLimit === undefined ? {} : { rateLimit: options.rateLimit }),
  });
}

/** The Authorization header of a key. */
export function bearer(key: string): Record<string, string> {
  return { Authorization: `Bearer ${key}` };
}

/** A concrete path of a route template (platform/access API_ROUTES): each `{name}` replaced by `sample`. */
export function samplePath(template: string, sample = '0190a000-0000-7000-8000-000000000001'): string {
  return template.replace(/\{[a-z_]+\}/g, sample);
}
