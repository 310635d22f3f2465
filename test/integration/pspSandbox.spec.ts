import { expect } from 'chai';
import { createPool, type Pool } from '../../platform/db.js';
import { listen } from '../../platform/http.js';
import { createLogger } from '../../platform/logger.js';
import { quoteIdent } from '../../platform/migrate.js';
import { PspClient } from '../../platform/psp.js';
import { createPspApp } from '../../simulators/psp/app.js';
import { ensurePspSchema } from '../../simulators/psp/store.js';
import { testDatabaseUrl, uniqueId } from '../support/env.js';

describe('PSP sandbox: authorize, partial captures, void, partial refunds, idempotency', function () {
  this.timeout(30_000);
  const schema = uniqueId('psp')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  let pool: Pool;
  let server: { port: number; close: () => Promise<void> };
  let psp: PspClient;

  before(async () => {
    pool = createPool({ databaseUrl: testDatabaseUrl, schema, max: 4 });
    await ensurePspSchema(pool, schema);
    server = await listen(createPspApp({ pool, logger: createLogger('psp-test', 'silent'), latencyMs: 0 }).app, '127.0.0.1', 0);
    psp = new PspClient({ baseUrl: `http://127.0.0.1:${server.port}`, timeoutMs: 2_000 });
  });
  after(async () => {
    psp.shutdown();
    await server.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await pool.end();
  });

  const authorize = (key: string, token = 'tok_visa', amount = 10_000) =>
    psp.authorize({ amount, currency: 'USD', token, reference: key, idempotencyKey: key });

  it('captures an authorization in several parts, never beyond it, and refunds part of a capture', async () => {
    const key = uniqueId('auth');
    const auth = await authorize(key);
    expect(auth.kind).to.equal('authorized');
    if (auth.kind !== 'authorized') return;
    const first = await psp.capture(auth.authorizationId, 6_000, uniqueId('cap'));
    const second = await psp.capture(auth.authorizationId, 3_000, uniqueId('cap'));
    expect([first.kind, second.kind]).to.deep.equal(['captured', 'captured']);
    expect(await psp.capture(auth.authorizationId, 1_001, uniqueId('cap'))).to.deep.equal({
      kind: 'refused',
      reason: 'amount_exceeds_authorization',
    });
    if (first.kind !== 'captured') return;
    expect((await psp.refund(first.captureId, 2_500, uniqueId('ref'))).kind).to.equal('refunded');
    expect(await psp.refund(first.captureId, 3_501, uniqueId('ref'))).to.deep.equal({
      kind: 'refused',
      reason: 'amount_exceeds_capture',
    });
    const [ledger] = await psp.authorizationsFor(key);
    expect(ledger).to.include({ status: 'partially_captured', amount_captured: 9_000 });
    expect(Number((ledger as unknown as { amount_refunded: number }).amount_refunded)).to.equal(2_500);
  });

  it('answers a repeated call with the same Idempotency-Key once, with the first answer', async () => {
    const key = uniqueId('auth');
    const [a, b] = await Promise.all([authorize(key), authorize(key)]);
    expect(a).to.deep.equal(b);
    expect(await psp.authorizationsFor(key)).to.have.length(1);
    if (a.kind !== 'authorized') return;
    const captureKey = uniqueId('cap');
    await psp.capture(a.authorizationId, 1_000, captureKey);
    await psp.capture(a.authorizationId, 1_000, captureKey);
    expect((await psp.authorizationsFor(key))[0]).to.include({ amount_captured: 1_000 });
  });

  it('declines tok_chargeDeclined, voids an uncaptured authorization, and refuses to void a captured one', async () => {
    expect(await authorize(uniqueId('auth'), 'tok_chargeDeclined')).to.deep.equal({ kind: 'declined', code: 'card_declined' });
    const open = await authorize(uniqueId('auth'));
    const captured = await authorize(uniqueId('auth'));
    if (open.kind !== 'authorized' || captured.kind !== 'authorized') throw new Error('authorization failed');
    expect(await psp.voidAuthorization(open.authorizationId, uniqueId('void'))).to.deep.equal({ kind: 'voided' });
    await psp.capture(captured.authorizationId, 100, uniqueId('cap'));
    expect(await psp.voidAuthorization(captured.authorizationId, uniqueId('void'))).to.deep.equal({
      kind: 'refused',
      reason: 'already_captured',
    });
    // The sandbox's own risk endpoint (the saga reads the level from the authorization's answer instead).
    const risk = await fetch(`http://127.0.0.1:${server.port}/v1/risk-assessments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: 'tok_riskLevelHighest' }),
    });
    expect(((await risk.json()) as { risk_level: string }).risk_level).to.equal('highest');
  });

  it('lists its authorizations a page at a time, in id order, by status and creation time (for reconciliation)', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const auth = await authorize(uniqueId('list'));
      if (auth.kind === 'authorized') ids.push(auth.authorizationId);
    }
    const voided = ids[1] as string;
    expect((await psp.voidAuthorization(voided, uniqueId('void'))).kind).to.equal('voided');
    const open = await psp.listAuthorizations({ status: 'authorized', after: ids[0], limit: 100 });
    expect(open.map((a) => a.authorization_id))
      .to.include(ids[2])
      .and.not.include(voided)
      .and.not.include(ids[0]);
    const page = await psp.listAuthorizations({ after: ids[0], limit: 1 });
    expect(page.map((a) => a.authorization_id)).to.deep.equal([voided]);
    expect(await psp.listAuthorizations({ createdBefore: new Date(Date.now() - 3_600_000), limit: 10 })).to.deep.equal([]);
    const base = `http://127.0.0.1:${server.port}/v1/authorizations`;
    for (const query of ['', '?status=lost', '?after=urn:uuid:1', '?limit=0', '?created_before=yesterday', '?x=1'])
      expect((await fetch(base + query)).status, query).to.equal(400);
  });
});
