import { expect } from 'chai';
import { createCatalog, orderBody } from '../support/catalog.js';
import { eventually, testDatabaseUrl, testPool, uniqueId } from '../support/env.js';
import { freePort, startNode, type RunningProcess } from '../support/processes.js';
import { bearer, createTestKey } from '../support/apiKeys.js';

interface Sent {
  readonly key: string;
  readonly body: ReturnType<typeof orderBody>;
  status?: number;
  orderId?: string;
}

describe('the command service stopped in the middle of a flush (SIGKILL, SIGTERM)', function () {
  this.timeout(90_000);
  const processes: RunningProcess[] = [];
  after(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
  });

  let key: string | undefined;
  const adminKey = async () => (key ??= (await createTestKey(testPool(), { name: 'command-service-stopped' })).key);

  async function startCommandService(port: number): Promise<RunningProcess> {
    const child = startNode('dist/command-service/main.js', {
      DATABASE_URL: testDatabaseUrl,
      DATABASE_SCHEMA: 'public',
      COMMAND_PORT: String(port),
      // Flushes wait for company, so many placements are in flight in each when the process dies.
      PLACEMENT_BATCH_WAIT_MS: '20',
      LOG_LEVEL: 'info',
    });
    processes.push(child);
    await eventually('command service listening', async () =>
      child.lines.some((l) => typeof l === 'object' && l.msg === 'command service listening') ? true : undefined,
    );
    return child;
  }

  const post = async (port: number, sent: Sent) => {
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/orders`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': sent.key, ...bearer(await adminKey()) },
      body: JSON.stringify(sent.body),
    });
    const body = (await response.json()) as { order_id?: string };
    return { status: response.status, orderId: body.order_id };
  };

  /** 400 placements at once; the first 202 sends `signal` to the service. */
  async function placeWhileStopping(signal: NodeJS.Signals) {
    const { skus } = await createCatalog(testPool(), { prices: [500], stock: [[1_000_000]] });
    const prefix = uniqueId(signal.toLowerCase());
    const port = await freePort();
    const first = await startCommandService(port);

    const sent: Sent[] = Array.from({ length: 400 }, (_, i) => ({
      key: `${prefix}-${i}`,
      body: orderBody(`${prefix}-${i}`, [{ sku: skus[0]!, quantity: 1 }]),
    }));
    let answered = 0;
    const inFlight = sent.map(async (s) => {
      try {
        Object.assign(s, await post(port, s));
        if (s.status === 202 && ++answered === 1) first.child.kill(signal);
      } catch {
        // The process died (or stopped listening) with this request in flight or not yet sent: no answer.
      }
    });
    await Promise.all(inFlight);
    const exitCode = await first.exited;
    const committed = await testPool().query<{ order_id: string; customer_id: string }>(
      `SELECT order_id, customer_id FROM orders WHERE customer_id LIKE $1 || '-%'`,
      [prefix],
    );
    return { port, prefix, sent, committed: committed.rows, exitCode };
  }

  it('SIGTERM: requests in flight are answered before it exits, so every committed order was answered 202', async () => {
    const { sent, committed, exitCode } = await placeWhileStopping('SIGTERM');
    expect(exitCode, 'a clean, drained stop').to.equal(0);
    const accepted = sent.filter((s) => s.status === 202);
    expect(accepted.length).to.be.at.least(1);
    // Nothing but 202s and the 503s of a stopping service; nothing that reached it went unanswered.
    expect([...new Set(sent.map((s) => s.status).filter((s) => s !== undefined))].sort()).to.satisfy((codes: number[]) =>
      codes.every((c) => c === 202 || c === 503),
    );
    const acceptedIds = new Set(accepted.map((s) => s.orderId));
    expect(committed.length).to.equal(accepted.length);
    for (const row of committed) expect(acceptedIds.has(row.order_id), `committed ${row.order_id} was answered`).to.equal(true);
  });

  it('SIGKILL: every 202 names a committed order, and every committed order answers to its key after a restart', async () => {
    const { port, prefix, sent, committed: committedRows } = await placeWhileStopping('SIGKILL');
    const committed = { rows: committedRows };
    const accepted = sent.filter((s) => s.status === 202);
    const unanswered = sent.filter((s) => s.status === undefined);
    expect(accepted.length).to.be.at.least(1);
    expect(unanswered.length, 'the kill came before some answers').to.be.at.least(1);

    const committedIds = new Set(committed.rows.map((r) => r.order_id));
    for (const s of accepted) expect(committedIds.has(s.orderId!), `202 ${s.orderId} committed`).to.equal(true);

    // Every committed order's key holds its answer.
    const keys = await testPool().query<{ idempotency_key: string; state: string; order_id: string | null }>(
      `SELECT idempotency_key, state, response_body->>'order_id' AS order_id FROM idempotency_keys
        WHERE idempotency_key LIKE $1 || '-%'`,
      [prefix],
    );
    const byKey = new Map(keys.rows.map((r) => [r.idempotency_key, r]));
    for (const row of committed.rows) {
      const key = byKey.get(row.customer_id);
      expect(key?.state, `key of ${row.customer_id}`).to.equal('completed');
      expect(key?.order_id).to.equal(row.order_id);
    }

    // After a restart, the requests that heard nothing are sent again with their keys: each customer ends
    // with exactly one order, the committed ones answered as replays with the same order id.
    const second = await startCommandService(port);
    for (const s of unanswered) {
      const retried = await post(port, s);
      expect(retried.status, s.key).to.equal(202);
      const before = committed.rows.find((r) => r.customer_id === s.key);
      if (before !== undefined) expect(retried.orderId).to.equal(before.order_id);
    }
    const perCustomer = await testPool().query<{ customers: number; orders: number }>(
      `SELECT count(DISTINCT customer_id)::int AS customers, count(*)::int AS orders FROM orders WHERE customer_id LIKE $1 || '-%'`,
      [prefix],
    );
    expect(perCustomer.rows[0]).to.deep.equal({ customers: 400, orders: 400 });
    second.child.kill('SIGTERM');
    await second.exited;
  });
});
