import type { Kafka } from 'kafkajs';
import { parseOrderEvent, type OrderEventEnvelope } from '../../domain/events.js';
import type { Backoff } from '../../domain/retryPolicy.js';
import {
  afterWebhookFailure,
  isDelivered,
  subscriptionSees,
  webhookBody,
  type WebhookRetryPolicy,
} from '../../domain/webhooks.js';
import { consumerBackoff, type Config } from '../../platform/config.js';
import type { DeadLetterSink } from '../../platform/deadLetters.js';
import type { Pool } from '../../platform/db.js';
import {
  BACKGROUND_FETCH,
  runKafkaConsumer,
  type KafkaMessage,
  type RunningKafkaConsumer,
} from '../../platform/kafkaConsumer.js';
import type { Logger } from '../../platform/logger.js';
import type { HandlingFailure } from '../../platform/messageHandler.js';
import { PollLoop, type NextTick } from '../../platform/pollLoop.js';
import { signWebhook } from '../../platform/standardWebhooks.js';
import { continuingOrder, partnerHeaders } from '../../platform/traceScope.js';
import {
  activeSubscriptions,
  channelsOf,
  leaseDueDeliveries,
  nextDueInMs,
  recordDeliveries,
  recordDelivered,
  recordDisabled,
  recordRetry,
  type AttemptOutcome,
  type LeasedDelivery,
  type NewDelivery,
} from './webhookStore.js';

export interface WebhookWorkerOptions {
  readonly pool: Pool;
  readonly kafka: Kafka;
  readonly topic: string;
  readonly groupId: string;
  readonly logger: Logger;
  readonly deadLetters: DeadLetterSink;
  readonly maxAttempts: number;
  readonly consumerBackoff: Backoff;
  readonly concurrency: number;
  readonly concurrencyPerSubscription: number;
  readonly timeoutMs: number;
  readonly leaseMs: number;
  readonly retry: WebhookRetryPolicy;
  /** How often the delivery loop looks for due deliveries when nothing wakes it. */
  readonly pollMs?: number;
  readonly random?: () => number;
}

export function webhookWorkerSettings(config: Config) {
  return {
    topic: config.orderEventsTopic,
    groupId: config.webhookConsumerGroup,
    maxAttempts: config.kafkaConsumerMaxAttempts,
    consumerBackoff: consumerBackoff(config),
    concurrency: config.webhookConcurrency,
    concurrencyPerSubscription: config.webhookConcurrencyPerSubscription,
    timeoutMs: config.webhookTimeoutMs,
    leaseMs: config.webhookLeaseMs,
    retry: {
      backoff: { baseMs: config.webhookRetryBaseMs, maxMs: config.webhookRetryMaxMs },
      disableAfterMs: config.webhookDisableAfterMs,
    },
  } satisfies Partial<WebhookWorkerOptions>;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Outbound webhooks (contract §8). Two halves that never wait for each other:
 * - intake: a Kafka consumer group of its own on the order events topic writes, per batch of records,
 *   one delivery row per matching (subscription, event) in one statement, then commits the offsets;
 * - delivery: a loop leases due deliveries (the head of each subscription's queue per order, a bounded
 *   number per subscription), POSTs each signed with Standard Webhooks headers, and records the outcome
 *   (delivered; retry after an exponential backoff with full jitter; the subscription disabled after
 *   24 h of failure). No transaction spans an HTTP call; a dead or slow receiver holds only its own
 *   slots, and placement never waits for any of it.
 */
export class WebhookWorker {
  private consumer: RunningKafkaConsumer | undefined;
  private readonly loop: PollLoop;
  private inFlight = 0;
  private readonly deliveries = new Set<Promise<void>>();
  private stopping = false;

  constructor(private readonly options: WebhookWorkerOptions) {
    // Woken by its intake and by each delivery that ends, and due times come from the table: the period
    // only bounds how late it notices deliveries another replica's intake wrote.
    this.loop = new PollLoop('webhook delivery', options.pollMs ?? 10_000, () => this.tick(), options.logger);
  }

  get joined(): Promise<void> {
    return this.consumer?.joined ?? Promise.resolve();
  }

  async start(): Promise<void> {
    this.consumer = await runKafkaConsumer({
      kafka: this.options.kafka,
      groupId: this.options.groupId,
      topic: this.options.topic,
      logger: this.options.logger,
      ...BACKGROUND_FETCH,
      // The record's event, checked at this edge; a malformed one is dead-lettered by the consumer.
      parse: parseOrderEvent,
      handle: (messages) => this.intake(messages),
      maxAttempts: this.options.maxAttempts,
      backoff: this.options.consumerBackoff,
      deadLetters: this.options.deadLetters,
    });
    this.loop.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer?.stop();
    await this.loop.stop();
    await Promise.allSettled([...this.deliveries]);
  }

  /** One fetch's events: a delivery per subscription that sees each one. */
  private async intake(
    messages: readonly KafkaMessage<OrderEventEnvelope>[],
  ): Promise<HandlingFailure<KafkaMessage<OrderEventEnvelope>>[]> {
    const events = messages.map((m) => m.event);
    const subscriptions = await activeSubscriptions(this.options.pool);
    if (subscriptions.length === 0) return [];
    const channels = await channelsOf(this.options.pool, [...new Set(events.map((e) => e.order_id))]);
    const deliveries: NewDelivery[] = [];
    for (const event of events) {
      const channel = channels.get(event.order_id);
      if (channel === undefined) continue;
      const occurredAt = new Date(event.occurred_at);
      let body: string | undefined;
      for (const s of subscriptions) {
        if (
          !subscriptionSees(
            { events: s.events, channel: s.channel, createdAt: s.created_at },
            { type: event.type, occurredAt },
            channel,
          )
        )
          continue;
        body ??= JSON.stringify(webhookBody(event));
        deliveries.push({
          webhookId: s.webhook_id,
          eventId: event.event_id,
          orderId: event.order_id,
          eventSeq: event.seq,
          type: event.type,
          body,
        });
      }
    }
    const added = await recordDeliveries(this.options.pool, deliveries);
    if (added > 0) this.loop.wake();
    return [];
  }

  /** Leases what is due for the free slots and sends each; answers when the next one is due. */
  private async tick(): Promise<NextTick> {
    const free = this.options.concurrency - this.inFlight;
    let leased: LeasedDelivery[] = [];
    if (free > 0 && !this.stopping) {
      leased = await leaseDueDeliveries(this.options.pool, free, this.options.concurrencyPerSubscription, this.options.leaseMs);
      for (const delivery of leased) {
        this.inFlight++;
        const sent = this.send(delivery)
          .catch((error: unknown) =>
            this.options.logger.warn(
              { err: error, delivery_id: delivery.delivery_id },
              'recording a webhook attempt failed; its lease runs out and it goes again',
            ),
          )
          .finally(() => {
            this.inFlight--;
            this.deliveries.delete(sent);
            this.loop.wake();
          });
        this.deliveries.add(sent);
      }
    }
    const due = (await nextDueInMs(this.options.pool)) ?? Number.MAX_SAFE_INTEGER;
    // Something due that could not be taken (its subscription's slots or its order's earlier delivery
    // are busy) is taken when a delivery in flight ends and wakes the loop: no spinning meanwhile.
    return { dueInMs: leased.length === 0 && due === 0 ? Number.MAX_SAFE_INTEGER : due };
  }

  private async send(delivery: LeasedDelivery): Promise<void> {
    const attempt = delivery.attempts + 1;
    const secrets = delivery.previous_secret === null ? [delivery.secret] : [delivery.secret, delivery.previous_secret];
    const headers = signWebhook(secrets, delivery.event_id, Math.floor(Date.now() / 1000), delivery.body);
    // The event's correlation goes on: traceparent (a span of ours in the event's trace) and X-Request-Id.
    const trace = continuingOrder(delivery.order_id, delivery.metadata, 'webhook-worker', partnerHeaders);
    const started = performance.now();
    let status: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'oms-webhooks/1', ...trace, ...headers },
        body: delivery.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      status = response.status;
      // The receiver's answer is not ours to keep: read and drop it so the connection is reused.
      await response.arrayBuffer().catch(() => undefined);
      if (!isDelivered(status)) error = `HTTP ${status}`;
    } catch (caught) {
      error = messageOf(caught);
    }
    const outcome: AttemptOutcome = {
      deliveryId: delivery.delivery_id,
      webhookId: delivery.webhook_id,
      attempt,
      durationMs: Math.round(performance.now() - started),
      status,
      error,
    };
    const log = {
      delivery_id: delivery.delivery_id,
      webhook_id: delivery.webhook_id,
      event_id: delivery.event_id,
      attempt,
      status,
    };
    if (error === null) {
      await recordDelivered(this.options.pool, outcome);
      this.options.logger.debug(log, 'webhook delivered');
      return;
    }
    const now = Date.now();
    const next = afterWebhookFailure(
      this.options.retry,
      attempt,
      delivery.failing_since?.getTime() ?? null,
      now,
      this.options.random,
    );
    if (next.action === 'disable') {
      await recordDisabled(this.options.pool, outcome);
      this.options.logger.warn({ ...log, error }, 'webhook subscription failing for too long: disabled');
      return;
    }
    await recordRetry(this.options.pool, outcome, new Date(next.atMs), new Date(next.failingSinceMs));
    this.options.logger.info({ ...log, error, retry_in_ms: next.atMs - now }, 'webhook delivery failed; trying again');
  }
}
