import { expect } from 'chai';
import { fingerprintChanges, fingerprintStatement, takeFingerprint } from '../../fuzz/fingerprint.js';
import { describe as describeRequest, runFuzz, type FuzzReport } from '../../fuzz/run.js';
import { startFuzzSystem, type FuzzSystem } from '../../fuzz/system.js';
import { testDatabaseUrl } from '../support/env.js';

/**
 * A short `npm run fuzz` (fixed seed): generated bad input of every shape against every endpoint of
 * the API and the partners' sandboxes, run as processes. No answer ≥ 500, every refusal problem+json,
 * no process lost, and a refused request changes nothing.
 */
describe('fuzzing every HTTP endpoint (issue 11): never a 5xx, never a trace of a refusal', function () {
  this.timeout(120_000);
  let system: FuzzSystem;
  const lines: string[] = [];
  before(async () => {
    system = await startFuzzSystem(testDatabaseUrl, (line) => lines.push(line));
  });
  after(() => system?.stop());

  it('fingerprints the business tables: an update shows, an Idempotency-Key record does not', async () => {
    const statement = await fingerprintStatement(system.pool, system.schemas);
    const before = await takeFingerprint(system.pool, statement);
    await system.pool.query(
      `INSERT INTO idempotency_keys (scope, idempotency_key, fingerprint, method, path, state, expires_at)
       VALUES ('', 'fuzz-spec', 'x', 'POST', '/x', 'in_flight', now() + interval '1 hour')`,
    );
    expect(fingerprintChanges(before, await takeFingerprint(system.pool, statement))).to.deep.equal([]);
    await system.pool.query(`UPDATE inventory SET on_hand = on_hand + 1 WHERE sku = $1`, [system.context.skus[0]]);
    const after = await takeFingerprint(system.pool, statement);
    expect(fingerprintChanges(before, after)).to.have.length(1);
    expect(fingerprintChanges(before, after)[0]).to.match(/^fuzz_\w+\.inventory: /);
    await system.pool.query(`UPDATE inventory SET on_hand = on_hand - 1 WHERE sku = $1`, [system.context.skus[0]]);
    expect(fingerprintChanges(before, await takeFingerprint(system.pool, statement))).to.deep.equal([]);
    await system.pool.query(`DELETE FROM idempotency_keys WHERE idempotency_key = 'fuzz-spec'`);
  });

  it('answers 500 generated requests (seed 11) without a violation, the services up throughout', async () => {
    const report: FuzzReport = await runFuzz(system, { runs: 500, seed: 11, log: (line) => lines.push(line) });
    const found = report.violations.map((v) => `${v.kind}: ${v.request ? describeRequest(v.request) : ''}\n  ${v.detail}`);
    expect(found, lines.join('\n')).to.deep.equal([]);
    // The run reached every endpoint, was refused often, accepted some, and saw what the accepted ones changed.
    const counts = [...report.byTarget.values()];
    expect(report.byTarget.size).to.be.at.least(30);
    expect(counts.reduce((n, c) => n + c['4xx'], 0)).to.be.above(250);
    expect(counts.reduce((n, c) => n + c['2xx'], 0)).to.be.above(10);
    expect(report.acceptedChanges).to.be.above(0);
    for (const service of Object.values(system.services)) expect(service.child.exitCode, service.name).to.equal(null);
  });
});
