import { expect } from 'chai';
import { metricsRegistry } from '../../platform/metrics.js';
import { orderBody } from '../support/catalog.js';
import { eventually, uniqueId } from '../support/env.js';
import { freePorts, type RunningProcess } from '../support/processes.js';
import { startServiceProcess, startTestSystem, type TestSystem } from '../support/system.js';

/** The value of the first sample of `name` carrying every one of these labels (NaN when none does). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

interface HealthBody {
  status: string;
  dependencies: Record<string, { status: string; detail?: string }>;
}

/**
 * The API process (api/main.ts) and a saga worker process, as npm start runs them, on a test system of
 * their own: /metrics on both, and readiness that follows the worker's heartbeat.
 */
describe('metrics and health: /metrics on the API and a worker, readiness that follows the workers', function () {
  this.timeout(120_000);
  let system: TestSystem;
  let api: RunningProcess;
  let apiUrl: string;
  let saga: RunningProcess | undefined;
  let sagaMetricsUrl: string;
  const placed: string[] = [];
  // A beat every 100 ms, stale after 1.5 s: readiness notices a dead worker within seconds.
  const heartbeat = { HEARTBEAT_INTERVAL_MS: '100', HEARTBEAT_MAX_AGE_MS: '1500' };

  const startSaga = async () =>
    startServiceProcess(system, 'dist/workers/saga/main.js', 'saga worker running', {
      METRICS_PORT: new URL(sagaMetricsUrl).port,
      ...heartbeat,
    });
  const health = async (path: string): Promise<{ status: number; body: HealthBody }> => {
    const res = await fetch(`${apiUrl}${path}`);
    return { status: res.status, body: (await res.json()) as HealthBody };
  };

  before(async () => {
    // The saga worker runs as its own process here, so its metrics and heartbeat are a process's.
    system = await startTestSystem({ startSagaWorker: false });
    const [apiPort, sagaMetricsPort] = await freePorts(2);
    apiUrl = `http://127.0.0.1:${apiPort}`;
    sagaMetricsUrl = `http://127.0.0.1:${sagaMetricsPort}`;
    api = await startServiceProcess(system, 'dist/api/main.js', 'api listening', {
      PORT: String(apiPort),
      KAFKA_ORDER_EVENTS_TOPIC: system.topic,
      READY_WORKERS: 'saga-worker',
      ...heartbeat,
    });
    saga = await startSaga();
  });

  after(async () => {
    for (const child of [saga, api]) {
      if (child !== undefined && child.child.exitCode === null) {
        child.child.kill('SIGKILL');
        await child.exited;
      }
    }
    await system?.stop();
  });

  it('counts API requests by route template and status, and group-commit batches, on the API port', async () => {
    const { skus } = await system.catalog({ prices: [1500], stock: [[50]] });
    const headers = { Authorization: `Bearer ${system.adminKey}`, 'Content-Type': 'application/json' };
    const answers = await Promise.all(
      Array.from({ length: 4 }, () =>
        fetch(`${apiUrl}/api/v1/orders`, {
          method: 'POST',
          headers,
          body: JSON.stringify(orderBody(uniqueId('cust'), [{ sku: skus[0]!, quantity: 1 }])),
        }),
      ),
    );
    for (const answer of answers) {
      expect(answer.status).to.equal(202);
      placed.push(((await answer.json()) as { order_id: string }).order_id);
    }
    for (const orderId of placed) {
      expect((await fetch(`${apiUrl}/api/v1/orders/${orderId}`, { headers })).status).to.equal(200);
    }
    expect((await fetch(`${apiUrl}/api/v1/orders/${placed[0]}/no-such-thing`, { headers })).status).to.equal(404);

    const res = await fetch(`${apiUrl}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const requests = 'oms_http_request_duration_seconds_count';
    expect(sample(text, requests, { method: 'POST', route: '/api/v1/orders', status: '202' })).to.be.at.least(4);
    expect(sample(text, requests, { method: 'GET', route: '/api/v1/orders/:order_id', status: '200' })).to.be.at.least(4);
    expect(sample(text, requests, { method: 'GET', route: 'unmatched', status: '404' })).to.be.at.least(1);
    expect(sample(text, 'oms_http_request_duration_seconds_bucket', { route: '/api/v1/orders', le: '+Inf' })).to.be.at.least(4);
    // Never a raw id in a label.
    for (const orderId of placed) expect(text).not.to.include(orderId);
    expect(sample(text, 'oms_placement_batch_size_sum', {})).to.be.at.least(4);
    expect(sample(text, 'oms_placement_flush_duration_seconds_count', { outcome: 'ok' })).to.be.at.least(1);
    expect(text).to.match(/^nodejs_eventloop_lag_seconds\{service="api"\} /m);
    expect(text).to.match(/^process_cpu_seconds_total\{service="api"\} /m);
  });

  it("answers /metrics on a worker's own METRICS_PORT, with its saga steps and PSP calls", async () => {
    await Promise.all(placed.map((orderId) => system.waitForFinalStatus(orderId, 30_000)));
    const res = await fetch(`${sagaMetricsUrl}/metrics`);
    expect(res.status).to.equal(200);
    const text = await res.text();
    const steps = text.split('\n').filter((l) => l.startsWith('oms_saga_step_duration_seconds_count{'));
    expect(
      steps.some((l) => /step="[a-z_+]*authorize_payment/.test(l) && l.includes('outcome="ok"')),
      steps.join('\n'),
    ).to.equal(true);
    expect(sample(text, 'oms_sagas_finished_total', { saga: 'placement', outcome: 'completed' })).to.be.at.least(placed.length);
    expect(sample(text, 'oms_partner_call_duration_seconds_count', { partner: 'psp', outcome: 'success' })).to.be.at.least(1);
    expect(sample(text, 'oms_partner_breaker_state', { partner: 'psp', service: 'saga-worker' })).to.equal(0);
    expect((await fetch(`${sagaMetricsUrl}/health/live`)).status).to.equal(200);
  });

  it("measures the relay's lag and rate per sink and the consumer groups' backlog (the relay runs in this process)", async () => {
    const text = await metricsRegistry.metrics();
    const kafkaSink = `kafka:${system.topic}`;
    expect(sample(text, 'oms_relay_published_total', { sink: kafkaSink })).to.be.at.least(placed.length);
    expect(sample(text, 'oms_relay_lag_seconds_count', { sink: kafkaSink })).to.be.at.least(placed.length);
    // Sampled by the relay's acknowledgement scan (every RELAY_ACK_SCAN_MS), not per message.
    await eventually('the saga group sampled', async () => {
      const sampled = await metricsRegistry.metrics();
      return Number.isFinite(sample(sampled, 'oms_consumer_pending', { group: 'saga' })) &&
        Number.isFinite(sample(sampled, 'oms_consumer_backlog_age_seconds', { group: 'saga' }))
        ? true
        : undefined;
    });
  });

  it('sums the workers of a clustered API (API_WORKERS=2) on its METRICS_PORT', async () => {
    const [port, metricsPort] = await freePorts(2);
    const clustered = await startServiceProcess(system, 'dist/api/main.js', 'api workers started', {
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      API_WORKERS: '2',
      KAFKA_ORDER_EVENTS_TOPIC: system.topic,
    });
    try {
      await eventually('the clustered API answers', async () =>
        (await fetch(`http://127.0.0.1:${port}/health/live`).catch(() => undefined))?.status === 200 ? true : undefined,
      );
      // New connections each (no keep-alive), so both workers take some.
      for (let i = 0; i < 10; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/health/live`, { headers: { Connection: 'close' } });
        expect(res.status).to.equal(200);
      }
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      // The first probe may have been refused before a worker listened: at least the ten counted here.
      expect(sample(text, 'oms_http_request_duration_seconds_count', { route: '/health/live', status: '200' })).to.be.at.least(
        10,
      );
    } finally {
      clustered.child.kill('SIGTERM');
      await clustered.exited;
    }
  });

  it('is ready while the worker beats, 503 naming it once its heartbeat stops, and ready again when it is back', async () => {
    const ready = await health('/health/ready');
    expect(ready.status, JSON.stringify(ready.body)).to.equal(200);
    expect(Object.keys(ready.body.dependencies)).to.include.members(['postgres', 'redis', 'kafka', 'workers']);

    // Killed, it cannot say goodbye: its last beat has to grow stale.
    saga!.child.kill('SIGKILL');
    await saga!.exited;
    const gone = await eventually(
      'readiness 503 without the saga worker',
      async () => {
        const answer = await health('/health/ready');
        return answer.status === 503 ? answer : undefined;
      },
      10_000,
      100,
    );
    expect(gone.body.dependencies.workers?.status).to.equal('down');
    expect(gone.body.dependencies.workers?.detail).to.match(/no heartbeat from saga-worker \(last \d+\.\d s ago\)/);
    expect(gone.body.dependencies.postgres?.status).to.equal('up');
    // GET /health is the readiness report (contract §1: 503 with what is down named); the process itself lives.
    expect((await health('/health')).status).to.equal(503);
    expect((await health('/health/live')).status).to.equal(200);

    saga = await startSaga();
    await eventually(
      'readiness 200 with the saga worker back',
      async () => ((await health('/health/ready')).status === 200 ? true : undefined),
      10_000,
      100,
    );
  });

  it('leaves readiness at once when a worker stops cleanly (it removes its heartbeat)', async () => {
    saga!.child.kill('SIGTERM');
    expect(await saga!.exited).to.equal(0);
    const answer = await health('/health/ready');
    expect(answer.status).to.equal(503);
    expect(answer.body.dependencies.workers?.detail).to.include('saga-worker (last');
  });
});
