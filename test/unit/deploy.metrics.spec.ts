import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { collectProcessMetrics, gaugeOnScrape, metricsRegistry } from '../../platform/metrics.js';
import { repoRoot } from '../support/processes.js';

/** The metric families the services expose (the API's scrape-time dead-letter gauge included). */
async function exposedFamilies(): Promise<Set<string>> {
  collectProcessMetrics('test');
  if (metricsRegistry.getSingleMetric('oms_dead_letters') === undefined) {
    gaugeOnScrape('oms_dead_letters', 'dead letters (test)', 'source', async () => []);
  }
  return new Set((await metricsRegistry.getMetricsAsJSON()).map((m) => m.name));
}

describe('deploy/: the Prometheus scrape targets and the Grafana dashboard match what the services expose', () => {
  it('queries only metrics some service exposes', async () => {
    const dashboard = readFileSync(`${repoRoot}deploy/grafana/oms-dashboard.json`, 'utf8');
    const exprs = [...dashboard.matchAll(/"expr": "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? '');
    expect(exprs.length).to.be.greaterThan(20);
    const families = await exposedFamilies();
    const used = new Set(
      exprs.flatMap((e) =>
        [...e.matchAll(/\b((?:oms|nodejs|process)_[a-z0-9_]+)/g)].map((m) => m[1]?.replace(/_(bucket|count|sum)$/, '') ?? ''),
      ),
    );
    const unknown = [...used].filter((name) => !families.has(name));
    expect(unknown, 'metrics the dashboard asks for and no service exposes').to.deep.equal([]);
  });

  it('scrapes every OMS service of docker-compose.yml on the METRICS_PORT it sets', () => {
    const compose = readFileSync(`${repoRoot}docker-compose.yml`, 'utf8');
    const scrape = readFileSync(`${repoRoot}deploy/prometheus.yml`, 'utf8');
    const port = compose.match(/METRICS_PORT: '(\d+)'/)?.[1];
    expect(port).to.equal('9464');
    // The services built from our image (`<<: *oms-service`), by their compose names.
    const services = [...compose.matchAll(/^ {2}([a-z-]+):\n {4}<<: \*oms-service/gm)].map((m) => m[1]);
    expect(services).to.include.members(['api', 'relay', 'saga-worker', 'projector']);
    const targets = [...scrape.matchAll(/^ +- ([a-z-]+:\d+)$/gm)].map((m) => m[1]);
    expect([...targets].sort()).to.deep.equal(services.map((s) => `${s}:${port}`).sort());
  });
});
