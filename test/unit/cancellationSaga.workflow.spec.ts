import { expect } from 'chai';
import {
  nextCancellationAction,
  WAIT_FOR_PLACEMENT_MS,
  WAIT_FOR_WMS_MS,
  type CancellationSteps,
  type OrderNow,
} from '../../domain/cancellationSaga.js';
import { workflowSpec } from '../support/gwt.js';

const now = new Date('2026-01-01T12:00:00.000Z');
const inMs = (ms: number) => new Date(now.getTime() + ms).toISOString();
const running = (steps: CancellationSteps) => ({ status: 'running', steps }) as const;
const order = (overrides: Partial<OrderNow> = {}): OrderNow => ({
  orderStatus: 'confirmed',
  placementRunning: false,
  shipments: [],
  ...overrides,
});
const placed = { status: 'succeeded', order_status: 'confirmed', outcome: 'cancel' } as const;
const requested = { status: 'succeeded', requested: [] } as const;
const released = { status: 'succeeded', released: [], cancelled: [] } as const;
const shipment = (id: string, status: string) => ({ shipment_id: id, warehouse_id: 'w1', status });
/** Given the recorded steps, when asked with the order as it is now, then the next action. */
const saga = workflowSpec((state: ReturnType<typeof running>, moment: { order: OrderNow; now: Date }) =>
  nextCancellationAction(state, moment.order, moment.now),
);

describe('cancellation saga workflow (domain)', () => {
  it('given placement still running, waits for it', () => {
    saga
      .given(running({}))
      .when({ order: order({ placementRunning: true }), now })
      .then({ kind: 'wait', until: inMs(WAIT_FOR_PLACEMENT_MS) });
  });

  it('given placement finished, records how it ended: a confirmed order is cancelled, a rejected one has nothing to cancel', () => {
    saga
      .given(running({}))
      .when({ order: order(), now })
      .then({ kind: 'await_placement', orderStatus: 'confirmed', outcome: 'cancel' });
    for (const orderStatus of ['rejected', 'cancelled'])
      saga
        .given(running({}))
        .when({ order: order({ orderStatus }), now })
        .thenAssert((action) => expect(action).to.deep.include({ outcome: 'nothing_to_cancel' }));
  });

  it('asks the WMS to cancel the shipments still at the warehouse, none of those that left', () => {
    const shipments = [shipment('s1', 'created'), shipment('s2', 'shipped')];
    expect(nextCancellationAction(running({ await_placement: placed }), order({ shipments }), now)).to.deep.equal({
      kind: 'cancel_shipments',
      shipments: [{ shipment_id: 's1', warehouse_id: 'w1' }],
    });
  });

  it('waits while a shipment is still at the warehouse after the cancel was asked', () => {
    const steps = { await_placement: placed, cancel_shipments: requested };
    expect(nextCancellationAction(running(steps), order({ shipments: [shipment('s1', 'picked')] }), now)).to.deep.equal({
      kind: 'wait',
      until: inMs(WAIT_FOR_WMS_MS),
    });
  });

  it('once nothing is at the warehouse, releases the stock, naming the shipments that won the race', () => {
    const steps = { await_placement: placed, cancel_shipments: requested };
    const shipments = [shipment('s1', 'cancelled'), shipment('s2', 'shipped')];
    expect(nextCancellationAction(running(steps), order({ shipments }), now)).to.deep.equal({
      kind: 'release_stock',
      shipped: ['s2'],
    });
  });

  it('when nothing shipped, voids the authorization and then finishes cancelled', () => {
    const steps: CancellationSteps = { await_placement: placed, cancel_shipments: requested, release_stock: released };
    const shipments = [shipment('s1', 'cancelled')];
    expect(nextCancellationAction(running(steps), order({ shipments }), now)).to.deep.equal({ kind: 'void_authorization' });
    const voided = { ...steps, void_authorization: { status: 'succeeded', authorization_ids: ['a'] } } as const;
    expect(nextCancellationAction(running(voided), order({ shipments }), now)).to.deep.equal({ kind: 'finish', shipped: [] });
  });

  it('when a shipment won the race, keeps the authorization (its capture follows) and finishes refused for it', () => {
    const steps: CancellationSteps = { await_placement: placed, cancel_shipments: requested, release_stock: released };
    expect(nextCancellationAction(running(steps), order({ shipments: [shipment('s2', 'delivered')] }), now)).to.deep.equal({
      kind: 'finish',
      shipped: ['s2'],
    });
  });

  it('is done once completed or failed', () => {
    expect(nextCancellationAction({ status: 'completed', steps: {} }, order(), now)).to.deep.equal({ kind: 'done' });
    expect(nextCancellationAction({ status: 'failed', steps: {} }, order(), now)).to.deep.equal({ kind: 'done' });
  });
});
