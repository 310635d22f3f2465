import http from 'node:http';
import type { EventEmitter } from 'node:events';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, register } from 'prom-client';
import { recordBreakerState } from './breakerStates.js';
import type { Logger } from './logger.js';

/**
 * The process's Prometheus metrics (prom-client's default registry), one definition each, so every
 * service exposes the same names. On the hot paths only counters and histograms are touched; gauges
 * that need a query (consumer backlog, dead letters) are sampled by a periodic task or at scrape time.
 */
export const metricsRegistry = register;

const SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function once<T>(name: string, create: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? create();
}

export const metrics = Object.freeze({
  /** API requests by route template (never the raw path: ids would make a series each). */
  httpRequestDuration: once(
    'oms_http_request_duration_seconds',
    () =>
      new Histogram({
        name: 'oms_http_request_duration_seconds',
        help: 'HTTP requests answered by the API, by method, route template and status code',
        labelNames: ['method', 'route', 'status'] as const,
        buckets: SECONDS,
      }),
  ),
  placementBatchSize: once(
    'oms_placement_batch_size',
    () =>
      new Histogram({
        name: 'oms_placement_batch_size',
        help: 'Placements written by one group-commit flush',
        buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      }),
  ),
  placementFlushDuration: once(
    'oms_placement_flush_duration_seconds',
    () =>
      new Histogram({
        name: 'oms_placement_flush_duration_seconds',
        help: 'Time one group-commit flush took to write its placements, by outcome (ok, error)',
        labelNames: ['outcome'] as const,
        buckets: SECONDS,
      }),
  ),
  sagaStepDuration: once(
    'oms_saga_step_duration_seconds',
    () =>
      new Histogram({
        name: 'oms_saga_step_duration_seconds',
        help: 'Saga steps (partner call and commit), by saga type, step and outcome (ok, error)',
        labelNames: ['saga', 'step', 'outcome'] as const,
        buckets: SECONDS,
      }),
  ),
  sagasFinished: once(
    'oms_sagas_finished_total',
    () =>
      new Counter({
        name: 'oms_sagas_finished_total',
        help: 'Sagas a worker saw finish, by saga type and outcome (completed, failed)',
        labelNames: ['saga', 'outcome'] as const,
      }),
  ),
  relayLag: once(
    'oms_relay_lag_seconds',
    () =>
      new Histogram({
        name: 'oms_relay_lag_seconds',
        help: 'Time from an outbox row being written (its UUIDv7) to its publication, by sink',
        labelNames: ['sink'] as const,
        buckets: SECONDS,
      }),
  ),
  relayPublished: once(
    'oms_relay_published_total',
    () =>
      new Counter({
        name: 'oms_relay_published_total',
        help: 'Outbox rows published, by sink',
        labelNames: ['sink'] as const,
      }),
  ),
  consumerPending: once(
    'oms_consumer_pending',
    () =>
      new Gauge({
        name: 'oms_consumer_pending',
        help: 'Redis stream entries delivered to a consumer group and not yet acknowledged (all partitions)',
        labelNames: ['group'] as const,
      }),
  ),
  consumerBacklog: once(
    'oms_consumer_backlog',
    () =>
      new Gauge({
        name: 'oms_consumer_backlog',
        help: 'Redis stream entries not yet delivered to a consumer group (XINFO GROUPS lag, all partitions)',
        labelNames: ['group'] as const,
      }),
  ),
  consumerBacklogAge: once(
    'oms_consumer_backlog_age_seconds',
    () =>
      new Gauge({
        name: 'oms_consumer_backlog_age_seconds',
        help: 'Age of the oldest entry a consumer group has not yet been delivered (0: caught up)',
        labelNames: ['group'] as const,
      }),
  ),
  kafkaConsumerLag: once(
    'oms_kafka_consumer_lag',
    () =>
      new Gauge({
        name: 'oms_kafka_consumer_lag',
        help: 'Kafka records behind the high watermark on the partitions this process consumes, after its last batch (sum by group across instances)',
        labelNames: ['group', 'topic'] as const,
      }),
  ),
  kafkaConsumerRestarts: once(
    'oms_kafka_consumer_restarts_total',
    () =>
      new Counter({
        name: 'oms_kafka_consumer_restarts_total',
        help: 'Kafka group members the watchdog replaced after they stopped fetching and joining',
        labelNames: ['group'] as const,
      }),
  ),
  deadLetters: once(
    'oms_dead_letters_total',
    () =>
      new Counter({
        name: 'oms_dead_letters_total',
        help: 'Messages this process dead-lettered, by consumer (source)',
        labelNames: ['source'] as const,
      }),
  ),
  partnerCallDuration: once(
    'oms_partner_call_duration_seconds',
    () =>
      new Histogram({
        name: 'oms_partner_call_duration_seconds',
        help: 'Partner calls through their circuit breaker, by partner and outcome (success, failure, timeout)',
        labelNames: ['partner', 'outcome'] as const,
        buckets: SECONDS,
      }),
  ),
  partnerCallsRejected: once(
    'oms_partner_calls_rejected_total',
    () =>
      new Counter({
        name: 'oms_partner_calls_rejected_total',
        help: 'Partner calls refused at once because the circuit breaker was open',
        labelNames: ['partner'] as const,
      }),
  ),
  partnerBreakerState: once(
    'oms_partner_breaker_state',
    () =>
      new Gauge({
        name: 'oms_partner_breaker_state',
        help: 'Circuit breaker state per partner: 0 closed, 0.5 half-open, 1 open',
        labelNames: ['partner'] as const,
      }),
  ),
});

/**
 * A gauge read at scrape time (a count in PostgreSQL, say): nothing runs between scrapes. Defined
 * again, it replaces the one before (a process wires its API once; a test may wire several). Returns
 * its removal, for the service that stops (and closes what `read` reads) while the process goes on.
 */
export function gaugeOnScrape(
  name: string,
  help: string,
  labelName: string,
  read: () => Promise<ReadonlyArray<readonly [string, number]>>,
): () => void {
  register.removeSingleMetric(name);
  const gauge = new Gauge({
    name,
    help,
    labelNames: [labelName],
    async collect() {
      this.reset();
      for (const [label, value] of await read()) this.set({ [labelName]: label }, value);
    },
  });
  return () => {
    // Only while it is still this one: a later definition replaced it and stays.
    if (register.getSingleMetric(name) === gauge) register.removeSingleMetric(name);
  };
}

let defaultsCollected = false;

/**
 * Node's process metrics (CPU, memory, GC, handles) and event loop lag, once per process. The lag is
 * sampled every 200 ms: finer sampling wakes every process that often even when it is idle (at 20 ms,
 * 14 idle processes woke 700 times a second), and a stall worth alerting on lasts longer than that.
 */
export function collectProcessMetrics(service: string): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  register.setDefaultLabels({ service });
  collectDefaultMetrics({ register, eventLoopMonitoringPrecision: 200 });
}

/** The minimal part of an opossum breaker observed here. */
type BreakerLike = Pick<EventEmitter, 'on'>;

/** Partner call latency, rejections and breaker state from an opossum breaker's events. */
export function observeBreaker(breaker: BreakerLike, partner: string): void {
  const state = metrics.partnerBreakerState.labels(partner);
  const calls = {
    success: metrics.partnerCallDuration.labels(partner, 'success'),
    failure: metrics.partnerCallDuration.labels(partner, 'failure'),
    timeout: metrics.partnerCallDuration.labels(partner, 'timeout'),
  };
  const rejected = metrics.partnerCallsRejected.labels(partner);
  state.set(0);
  recordBreakerState(partner, 'closed');
  breaker.on('success', (_result: unknown, latencyMs: number) => calls.success.observe(latencyMs / 1000));
  breaker.on('failure', (_error: unknown, latencyMs: number) => calls.failure.observe(latencyMs / 1000));
  breaker.on('timeout', (_error: unknown, latencyMs: number) => calls.timeout.observe(latencyMs / 1000));
  breaker.on('reject', () => rejected.inc());
  // The gauge for Prometheus; the recorded state for the ops page (the heartbeat carries it to Redis).
  breaker.on('open', () => {
    state.set(1);
    recordBreakerState(partner, 'open');
  });
  breaker.on('halfOpen', () => {
    state.set(0.5);
    recordBreakerState(partner, 'half-open');
  });
  breaker.on('close', () => {
    state.set(0);
    recordBreakerState(partner, 'closed');
  });
}

let cluster: AggregatorRegistry<typeof register.contentType> | undefined;

/**
 * The API's node:cluster primary (API_WORKERS > 1): its metrics server answers with the sum over its
 * workers (asked over IPC), since a scrape of the shared PORT reaches one worker only.
 */
export function serveClusterMetrics(): void {
  cluster ??= new AggregatorRegistry();
}

/** A node:cluster worker answers its primary's requests for its metrics (prom-client listens once constructed). */
export function joinClusterMetrics(): void {
  new AggregatorRegistry();
}

/** The registry (or the cluster's, summed) in Prometheus' text format. */
export async function sendMetrics(res: http.ServerResponse): Promise<void> {
  try {
    const text = await (cluster === undefined ? register.metrics() : cluster.clusterMetrics());
    res.writeHead(200, { 'Content-Type': register.contentType });
    res.end(text);
  } catch (error) {
    res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end(`metrics failed: ${String(error)}`);
  }
}

/**
 * A process without an HTTP server of its own (the workers, the relay) answers `/metrics` and
 * `/health/live` on this small one (METRICS_PORT; 0: none).
 */
export async function startMetricsServer(
  host: string,
  port: number,
  logger: Logger,
): Promise<{ readonly port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') void sendMetrics(res);
    else if (req.method === 'GET' && path === '/health/live') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"status":"ok"}');
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found: this port serves /metrics and /health/live\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  logger.info({ metrics_port: bound }, 'metrics listening');
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
