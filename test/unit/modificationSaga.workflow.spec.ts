import { expect } from 'chai';
import {
  authorizationUnanswered,
  nextModificationAction,
  WAIT_FOR_WMS_MS,
  type ModificationState,
  type ModificationSteps,
} from '../../domain/modificationSaga.js';
import { workflowSpec } from '../support/gwt.js';

const now = new Date('2026-01-01T12:00:00.000Z');
const timing = { now, pspRetryDeadlineMs: 10_000 };
const inMs = (ms: number) => new Date(now.getTime() + ms).toISOString();
const request = { changes: [], added: [], previous_total: 1000, new_total: 1500, shipping_address: null };
const state = (steps: Omit<ModificationSteps, 'request'>, secondsAgo = 1): ModificationState => ({
  status: 'running',
  steps: { request, ...steps },
  startedAt: new Date(now.getTime() - secondsAgo * 1000).toISOString(),
});
const nothingHeld = { statuses: [] };
const held = { status: 'succeeded', shipments: ['s1'] } as const;
const allocation = { item_id: 'i1', warehouse_id: 'w1', sku: 'sku', quantity: 2 };
const reserved = { status: 'succeeded', allocations: [allocation] } as const;
const authorized = { status: 'succeeded', payment_id: 'p2', authorization_id: 'a2', amount: 500 } as const;
/** Given the recorded steps, when asked with the held shipments' statuses now, then the next action. */
const saga = workflowSpec((recorded: ModificationState, heldNow: { statuses: readonly string[] }) =>
  nextModificationAction(recorded, heldNow, timing),
);

describe('modification saga workflow (domain)', () => {
  it('given a new edit, holds the shipments first', () => {
    saga.given(state({})).when(nothingHeld).then({ kind: 'hold_shipments' });
  });

  it('waits while a held shipment is still at the warehouse, then reserves what grows', () => {
    saga
      .given(state({ hold_shipments: held }))
      .when({ statuses: ['packed'] })
      .then({
        kind: 'wait',
        until: inMs(WAIT_FOR_WMS_MS),
      });
    saga
      .given(state({ hold_shipments: held }))
      .when({ statuses: ['cancelled'] })
      .then({
        kind: 'reserve',
      });
  });

  it('rejects, with nothing to undo, when a held shipment left the warehouse first', () => {
    saga
      .given(state({ hold_shipments: held }))
      .when({ statuses: ['shipped'] })
      .then({
        kind: 'reject',
        reason: 'line_shipped',
        undo: [],
      });
  });

  it('rejects, with nothing to undo, when the stock is short', () => {
    const short = { status: 'failed', allocations: [], shortages: [] } as const;
    saga
      .given(state({ hold_shipments: held, reserve: short }))
      .when(nothingHeld)
      .then({
        kind: 'reject',
        reason: 'insufficient_stock',
        undo: [],
      });
  });

  it('authorizes the increase once reserved, then applies the edit', () => {
    const steps = { hold_shipments: held, reserve: reserved };
    saga.given(state(steps)).when(nothingHeld).then({ kind: 'authorize' });
    saga
      .given(state({ ...steps, authorize: authorized }))
      .when(nothingHeld)
      .then({
        kind: 'apply',
      });
    saga
      .given(state({ ...steps, authorize: { status: 'skipped' } }))
      .when(nothingHeld)
      .then({
        kind: 'apply',
      });
  });

  it('after a decline, gives the reservation back and rejects (nothing authorized to void)', () => {
    const steps = { hold_shipments: held, reserve: reserved, authorize: { status: 'failed', reason: 'card_declined' } } as const;
    saga
      .given(state(steps))
      .when(nothingHeld)
      .then({
        kind: 'reject',
        reason: 'payment_declined',
        undo: ['unreserve'],
      });
  });

  it('after the PSP never answered, voids whatever it may hold for the edit before giving the stock back (reverse order)', () => {
    const steps = {
      hold_shipments: held,
      reserve: reserved,
      authorize: { status: 'failed', reason: 'payment_unavailable' },
    } as const;
    saga
      .given(state(steps))
      .when(nothingHeld)
      .then({
        kind: 'reject',
        reason: 'payment_unavailable',
        undo: ['void_authorization', 'unreserve'],
      });
  });

  it('waits for an unanswering PSP until the deadline counted from the edit’s start, then records it unavailable', () => {
    const wait = authorizationUnanswered(state({}, 1), timing, 1_500);
    expect(wait.kind).to.equal('wait');
    if (wait.kind === 'wait') {
      const delay = Date.parse(wait.until) - now.getTime();
      expect(delay).to.be.at.least(1_500).and.below(1_750);
    }
    expect(authorizationUnanswered(state({}, 10), timing)).to.deep.equal({
      kind: 'record',
      result: { status: 'failed', reason: 'payment_unavailable' },
    });
  });

  it('after a lower total was applied, shrinks the authorizations in our books, then at the PSP', () => {
    const applied = {
      hold_shipments: held,
      reserve: reserved,
      authorize: { status: 'skipped' },
      apply: { status: 'succeeded', release: 300 },
    } as const;
    saga.given(state(applied)).when(nothingHeld).then({ kind: 'release_decrease', amount: 300 });
    const releases = [{ payment_id: 'p1', authorization_id: 'a1', amount: 300 }];
    const booked = { ...applied, release_decrease: { status: 'succeeded', releases } } as const;
    saga.given(state(booked)).when(nothingHeld).then({ kind: 'release_at_psp', releases });
  });

  it('is done once completed or failed', () => {
    saga
      .given({ ...state({}), status: 'completed' })
      .when(nothingHeld)
      .then({ kind: 'done' });
    saga
      .given({ ...state({}), status: 'failed' })
      .when(nothingHeld)
      .then({ kind: 'done' });
  });
});
