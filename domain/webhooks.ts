import { type OrderEventEnvelope, type OrderEventTypeName } from './events.js';
import { retryDelayMs, type Backoff } from './retryPolicy.js';

/**
 * Outbound webhooks, the pure part (contract §8): which events a subscription sees, the body
 * a delivery carries, and what happens after a failed attempt. The worker (workers/webhooks) does the
 * I/O; signing is the transport's (platform/standardWebhooks).
 */

export interface WebhookBody {
  readonly type: string;
  readonly event_id: string;
  readonly order_id: string;
  readonly occurred_at: string;
  /** The event's payload as it was stored. */
  readonly data: OrderEventEnvelope['payload'];
}

/** What a delivery of `event` POSTs (serialized once; every attempt sends the same bytes). */
export function webhookBody(event: OrderEventEnvelope): WebhookBody {
  return { type: event.type, event_id: event.event_id, order_id: event.order_id, occurred_at: event.occurred_at, data: event.payload };
}

/** Whether a subscription sees an event: one of its types, of an order of its channel (none: every channel), since it exists. */
export function subscriptionSees(
  subscription: { readonly events: readonly string[]; readonly channel: string | null; readonly createdAt: Date },
  event: { readonly type: string; readonly occurredAt: Date },
  orderChannel: string,
): boolean {
  return (
    subscription.events.includes(event.type as OrderEventTypeName) &&
    (subscription.channel === null || subscription.channel === orderChannel) &&
    event.occurredAt.getTime() >= subscription.createdAt.getTime()
  );
}

export interface WebhookRetryPolicy {
  readonly backoff: Backoff;
  /** A subscription failing this long without a success is disabled (24 h by the contract). */
  readonly disableAfterMs: number;
}

export type AfterFailure =
  | { readonly action: 'retry'; readonly atMs: number; readonly failingSinceMs: number }
  | { readonly action: 'disable'; readonly failingSinceMs: number };

/**
 * After attempt `attempt` of a delivery failed at `nowMs`: the subscription has been failing since its
 * first failure after its last success; once that is `disableAfterMs` ago it is disabled, else the
 * delivery is tried again after an exponential backoff with full jitter.
 */
export function afterWebhookFailure(
  policy: WebhookRetryPolicy,
  attempt: number,
  failingSinceMs: number | null,
  nowMs: number,
  random: () => number = Math.random,
): AfterFailure {
  const since = failingSinceMs ?? nowMs;
  if (nowMs - since >= policy.disableAfterMs) return { action: 'disable', failingSinceMs: since };
  return { action: 'retry', atMs: nowMs + retryDelayMs(policy.backoff, attempt, 0, random), failingSinceMs: since };
}

/** Whether an HTTP status counts as delivered. */
export function isDelivered(status: number): boolean {
  return status >= 200 && status < 300;
}
