import { PassThrough, Writable } from 'node:stream';
import { expect } from 'chai';
import { printPretty, wantsPrettyLogs } from '../../platform/prettyLogs.js';
import { loadConfig } from '../../platform/config.js';
import { eventually } from '../support/env.js';

describe("npm start's console: human-readable on a terminal, JSON otherwise", () => {
  it('is pretty on a terminal unless LOG_FORMAT says otherwise', () => {
    expect(wantsPrettyLogs('auto', true)).to.equal(true);
    expect(wantsPrettyLogs('auto', false)).to.equal(false);
    expect(wantsPrettyLogs('pretty', false)).to.equal(true);
    expect(wantsPrettyLogs('json', true)).to.equal(false);
    expect(loadConfig({}).logFormat).to.equal('auto');
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).to.throw(/LOG_FORMAT must be one of auto, pretty, json/);
  });

  it("prints a child's pino lines readable, whole lines only, and other lines as they came", async () => {
    const output = new PassThrough();
    let printed = '';
    const to = new Writable({
      write(chunk: Buffer, _encoding, done) {
        printed += chunk.toString('utf8');
        done();
      },
    });
    printPretty(output, to);
    const line = JSON.stringify({ level: 30, time: '2026-01-01T00:00:00.000Z', service: 'relay', msg: 'relay running' });
    // A line written in two chunks is printed once, whole.
    output.write(line.slice(0, 20));
    output.write(`${line.slice(20)}\nnot json at all\n`);
    await eventually('two lines printed', async () => (printed.split('\n').length >= 3 ? true : undefined));
    expect(printed).to.include('relay | relay running');
    expect(printed).to.include('INFO');
    expect(printed).not.to.include('"msg"');
    expect(printed).to.include('not json at all\n');
  });
});

describe('metrics and heartbeat settings', () => {
  it('has no metrics port of its own and expects the pipeline workers by default', () => {
    const config = loadConfig({});
    expect(config.metricsPort).to.equal(0);
    expect(config.metricsBasePort).to.equal(9101);
    expect(config.readyWorkers).to.include.members(['relay', 'saga-worker', 'projector']);
    expect(loadConfig({ READY_WORKERS: '' }).readyWorkers).to.deep.equal([]);
    expect(loadConfig({ READY_WORKERS: ' relay , saga-worker ' }).readyWorkers).to.deep.equal(['relay', 'saga-worker']);
  });
});
