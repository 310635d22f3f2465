import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks (https://www.standardwebhooks.com), both ways: our outbound deliveries are signed
 * with it and the marketplaces' inbound orders are verified with it.
 *
 * - Headers `webhook-id` (the message id, the same on every retry), `webhook-timestamp` (seconds since
 *   the epoch) and `webhook-signature`: space-separated `v1,<base64 HMAC-SHA256>` signatures of
 *   `${id}.${timestamp}.${body}`, one per secret valid at that moment (two during a rotation).
 * - A secret is `whsec_` followed by base64 of its key bytes; the HMAC key is the decoded bytes.
 */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** How far a timestamp may be from now, either way, and still verify. */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

export type WebhookHeaders = Readonly<Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string>>;

/** A new signing secret: 24 random bytes, as the reference libraries make them. */
export function newWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(24).toString('base64')}`;
}

function keyOf(secret: string): Buffer {
  const encoded = secret.startsWith(WEBHOOK_SECRET_PREFIX) ? secret.slice(WEBHOOK_SECRET_PREFIX.length) : secret;
  return Buffer.from(encoded, 'base64');
}

/** The base64 HMAC-SHA256 of `${id}.${timestamp}.${body}` under one secret. */
export function webhookSignature(secret: string, id: string, timestamp: number, body: string): string {
  return createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
}

/** The three headers of one message, signed with every given secret. */
export function signWebhook(secrets: readonly string[], id: string, timestamp: number, body: string): WebhookHeaders {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((secret) => `v1,${webhookSignature(secret, id, timestamp, body)}`).join(' '),
  };
}

export type WebhookVerification =
  | { readonly ok: true; readonly id: string; readonly timestamp: number }
  | { readonly ok: false; readonly reason: 'missing headers' | 'bad timestamp' | 'timestamp out of tolerance' | 'bad signature' };

/**
 * Whether a message was signed by one of `secrets` (any one of its signatures matching any one secret,
 * compared in constant time) within the tolerance of `nowSeconds`.
 */
export function verifyWebhook(
  secrets: readonly string[],
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: string,
  nowSeconds: number,
  toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS,
): WebhookVerification {
  const one = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const id = one('webhook-id');
  const timestampText = one('webhook-timestamp');
  const signatures = one('webhook-signature');
  if (id === undefined || timestampText === undefined || signatures === undefined)
    return { ok: false, reason: 'missing headers' };
  if (!/^\d{1,12}$/.test(timestampText)) return { ok: false, reason: 'bad timestamp' };
  const timestamp = Number(timestampText);
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { ok: false, reason: 'timestamp out of tolerance' };
  const given = signatures
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  for (const secret of secrets) {
    const expected = Buffer.from(webhookSignature(secret, id, timestamp, body), 'base64');
    for (const signature of given) {
      if (signature.length === expected.length && timingSafeEqual(signature, expected)) return { ok: true, id, timestamp };
    }
  }
  return { ok: false, reason: 'bad signature' };
}
