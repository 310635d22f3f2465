import { expect } from 'chai';
import { orderBody } from '../support/catalog.js';
import { uniqueId } from '../support/env.js';
import { freePorts, type RunningProcess } from '../support/processes.js';
import { bearer } from '../support/apiKeys.js';
import { pspAuthorizations, startServiceProcess, startTestSystem, type TestSystem } from '../support/system.js';

interface Answer {
  readonly status: number;
  readonly orderId: string | undefined;
}

describe('two command services and two saga workers side by side (processes)', function () {
  this.timeout(120_000);
  let system: TestSystem;
  const processes: RunningProcess[] = [];
  let ports: number[] = [];

  before(async () => {
    system = await startTestSystem({ startSagaWorker: false });
    ports = await freePorts(2);
    for (const port of ports) {
      processes.push(
        await startServiceProcess(system, 'dist/command-service/main.js', 'command service listening', {
          COMMAND_PORT: String(port),
          PLACEMENT_BATCH_WAIT_MS: '5',
        }),
      );
    }
    for (let i = 0; i < 2; i++) {
      processes.push(await startServiceProcess(system, 'dist/workers/saga/main.js', 'saga worker running'));
    }
  });
  after(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.exited));
    await system.stop();
  });

  const post = async (port: number, body: unknown, key?: string): Promise<Answer> => {
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/orders`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        ...bearer(system.adminKey),
        ...(key === undefined ? {} : { 'Idempotency-Key': key }),
      },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as { order_id?: string };
    return { status: response.status, orderId: answer.order_id };
  };

  it('places, reserves and authorizes each order exactly once, whichever replica took it', async () => {
    const { skus } = await system.catalog({ prices: [400], stock: [[10_000], [10_000]] });
    const prefix = uniqueId('scale');

    // 200 orders spread over both command services, and 40 keyed requests each sent to both at once.
    const spread = Array.from({ length: 200 }, (_, i) =>
      post(ports[i % 2]!, orderBody(`${prefix}-${i}`, [{ sku: skus[0]!, quantity: 1 }])),
    );
    const doubled = Array.from({ length: 40 }, (_, i) => {
      const body = orderBody(`${prefix}-key-${i}`, [{ sku: skus[0]!, quantity: 1 }]);
      return Promise.all(ports.map((port) => post(port, body, `${prefix}-key-${i}`)));
    });
    const spreadAnswers = await Promise.all(spread);
    const doubledAnswers = await Promise.all(doubled);

    expect(spreadAnswers.map((a) => a.status)).to.deep.equal(spreadAnswers.map(() => 202));
    for (const pair of doubledAnswers) {
      // One replica placed it; the other heard 409 (still in flight) or the same order replayed.
      const accepted = pair.filter((a) => a.status === 202);
      expect(pair.every((a) => a.status === 202 || a.status === 409)).to.equal(true);
      expect(new Set(accepted.map((a) => a.orderId)).size).to.equal(1);
    }
    const orders = await system.pool.query<{ customer_id: string; order_id: string }>(
      `SELECT customer_id, order_id FROM orders WHERE customer_id LIKE $1 || '-%'`,
      [prefix],
    );
    expect(orders.rows).to.have.length(240);
    expect(new Set(orders.rows.map((r) => r.customer_id)).size).to.equal(240);

    const ids = orders.rows.map((r) => r.order_id);
    const finals = await Promise.all(ids.map((id) => system.waitForFinalStatus(id, 60_000)));
    expect(finals.every((f) => f === 'confirmed')).to.equal(true);

    // Each order: one event of each kind and one authorization at the PSP.
    const perOrder = await system.pool.query<{ type: string; orders: number; events: number }>(
      `SELECT type, count(DISTINCT order_id)::int AS orders, count(*)::int AS events
         FROM order_events WHERE order_id = ANY($1::uuid[]) GROUP BY type`,
      [ids],
    );
    const byType = new Map(perOrder.rows.map((r) => [r.type, r]));
    for (const type of ['order.placed', 'inventory.reserved', 'payment.authorized', 'order.confirmed']) {
      expect(byType.get(type), type).to.deep.include({ orders: 240, events: 240 });
    }
    const sagas = await system.pool.query<{ saga_id: string }>('SELECT saga_id FROM sagas WHERE order_id = ANY($1::uuid[])', [
      ids,
    ]);
    const authorizations = await Promise.all(sagas.rows.map((s) => pspAuthorizations(system, s.saga_id)));
    expect(authorizations.map((a) => a.length)).to.deep.equal(sagas.rows.map(() => 1));
  });
});
