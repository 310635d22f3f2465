import { expect } from 'chai';
import { runChaos } from '../../chaos/run.js';

describe('npm run chaos, short: every fault once while orders flow, then the invariants (issue 11)', function () {
  this.timeout(900_000);

  it('keeps every invariant through process kills, a PostgreSQL restart, Kafka and Redis stops, a FLUSHALL and duplicates', async () => {
    const lines: string[] = [];
    const report = await runChaos({
      orders: 200,
      rate: 10,
      seed: 11,
      settleMs: 150_000,
      infrastructureFaults: true,
      say: (line) => lines.push(line),
    });
    const injected = report.faults.map((f) => f.fault);
    for (const fault of [
      'restart PostgreSQL',
      'stop Kafka 20 s',
      'stop Redis 10 s',
      'FLUSHALL Redis',
      'kill api',
      'kill workers/saga',
    ])
      expect(injected, `faults injected: ${injected.join(', ')}`).to.include(fault);
    expect(report.accepted).to.equal(200);
    const violated = report.invariants.filter((i) => !i.ok);
    expect(violated, `${JSON.stringify(violated, null, 2)}\n${lines.slice(-20).join('\n')}`).to.deep.equal([]);
    expect(report.invariants.length).to.be.at.least(10);
  });
});
