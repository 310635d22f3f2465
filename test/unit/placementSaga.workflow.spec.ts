import { expect } from 'chai';
import {
  failureReason,
  nextPlacementAction,
  nextRetry,
  type PlacementSagaState,
  type PlacementSteps,
  type Retrying,
} from '../../domain/placementSaga.js';
import { workflowSpec } from '../support/gwt.js';

const now = new Date('2026-01-01T12:00:00.000Z');
const timing = { now, retryDeadlineMs: 30_000 };
const at = now.toISOString();
const reserved = { status: 'succeeded', at, reservations: [] } as const;
const authorized = {
  status: 'succeeded',
  at,
  payment_id: 'p',
  authorization_id: 'a',
  amount: 100,
  risk_level: 'normal',
} as const;
const fraudOk = { status: 'succeeded', at, score: 0, reasons: [] } as const;
const done = { status: 'succeeded', at } as const;
const retrying = (secondsAgo: number, dueInMs: number): Retrying => ({
  status: 'retrying',
  attempts: 2,
  first_failure_at: new Date(now.getTime() - secondsAgo * 1000).toISOString(),
  next_attempt_at: new Date(now.getTime() + dueInMs).toISOString(),
  last_error: 'timeout',
});

const running = (steps: PlacementSteps): PlacementSagaState => ({ status: 'running', steps });
const saga = workflowSpec(nextPlacementAction);

describe('placement saga workflow (domain)', () => {
  it('given a new saga, reserves inventory first', () => {
    saga.given(running({})).when(timing).then({ kind: 'reserve_inventory' });
  });

  it('given stock reserved, runs payment authorization and the fraud check side by side', () => {
    saga
      .given(running({ reserve_inventory: reserved }))
      .when(timing)
      .then({ kind: 'run', steps: ['authorize_payment', 'check_fraud'] });
  });

  it('runs only the step still missing after the other finished', () => {
    saga
      .given(running({ reserve_inventory: reserved, authorize_payment: authorized }))
      .when(timing)
      .then({ kind: 'run', steps: ['check_fraud'] });
  });

  it('confirms once payment is authorized and fraud accepted or skipped', () => {
    saga
      .given(running({ reserve_inventory: reserved, authorize_payment: authorized, check_fraud: fraudOk }))
      .when(timing)
      .then({ kind: 'confirm_order' });
    const skipped = { status: 'skipped', at, reason: 'repeat customer' } as const;
    saga
      .given(running({ reserve_inventory: reserved, authorize_payment: authorized, check_fraud: skipped }))
      .when(timing)
      .thenAssert((action) => expect(action.kind).to.equal('confirm_order'));
  });

  it('rejects without compensation when no stock could be reserved', () => {
    const failed = { status: 'failed', at, reason: 'insufficient-stock', shortages: [] } as const;
    saga
      .given(running({ reserve_inventory: failed }))
      .when(timing)
      .then({ kind: 'reject_order', reason: 'insufficient-stock' });
  });

  it('after a decline, releases the stock (nothing to void) and rejects', () => {
    const declined = { status: 'failed', at, reason: 'payment-declined', code: 'card_declined' } as const;
    const steps: PlacementSteps = { reserve_inventory: reserved, authorize_payment: declined, check_fraud: fraudOk };
    saga.given(running(steps)).when(timing).then({ kind: 'release_inventory' });
    saga
      .given(running({ ...steps, release_inventory: done }))
      .when(timing)
      .then({ kind: 'reject_order', reason: 'payment-declined' });
  });

  it('after a fraud rejection, voids the authorization before releasing the stock (reverse order)', () => {
    const rejected = { status: 'failed', at, reason: 'fraud-rejected', score: 100, reasons: ['x'] } as const;
    const steps: PlacementSteps = { reserve_inventory: reserved, authorize_payment: authorized, check_fraud: rejected };
    saga.given(running(steps)).when(timing).then({ kind: 'void_authorization' });
    const voided = { status: 'succeeded', at, outcome: 'voided', authorization_ids: ['a'] } as const;
    saga
      .given(running({ ...steps, void_authorization: voided }))
      .when(timing)
      .then({ kind: 'release_inventory' });
    saga
      .given(running({ ...steps, void_authorization: voided, release_inventory: done }))
      .when(timing)
      .then({ kind: 'reject_order', reason: 'fraud-rejected' });
  });

  it('waits for a retry that is not yet due, and retries it once due', () => {
    const waiting = running({ reserve_inventory: reserved, authorize_payment: retrying(1, 500), check_fraud: fraudOk });
    saga
      .given(waiting)
      .when(timing)
      .then({ kind: 'wait', until: new Date(now.getTime() + 500).toISOString() });
    const due = running({ reserve_inventory: reserved, authorize_payment: retrying(1, -1), check_fraud: fraudOk });
    saga
      .given(due)
      .when(timing)
      .then({ kind: 'run', steps: ['authorize_payment'] });
  });

  it("checks fraud with the authorization's risk signal: while the authorization waits for a retry, so does the check", () => {
    const waiting = running({ reserve_inventory: reserved, authorize_payment: retrying(1, 500) });
    saga
      .given(waiting)
      .when(timing)
      .then({ kind: 'wait', until: new Date(now.getTime() + 500).toISOString() });
    const due = running({ reserve_inventory: reserved, authorize_payment: retrying(1, -1) });
    saga
      .given(due)
      .when(timing)
      .then({ kind: 'run', steps: ['authorize_payment', 'check_fraud'] });
  });

  it('gives up on a partner past the retry deadline, voiding whatever it may have authorized', () => {
    const steps: PlacementSteps = { reserve_inventory: reserved, authorize_payment: retrying(31, 500), check_fraud: fraudOk };
    expect(failureReason(steps, timing)).to.equal('payment-unavailable');
    saga.given(running(steps)).when(timing).then({ kind: 'void_authorization' });
  });

  it('keeps retrying a compensation with no deadline', () => {
    const rejected = { status: 'failed', at, reason: 'fraud-rejected', score: 100, reasons: [] } as const;
    const steps: PlacementSteps = {
      reserve_inventory: reserved,
      authorize_payment: authorized,
      check_fraud: rejected,
      void_authorization: retrying(3600, 1000),
    };
    saga
      .given({ status: 'compensating', steps })
      .when(timing)
      .thenAssert((action) => expect(action.kind).to.equal('wait'));
  });

  it('is done once completed or failed', () => {
    saga.given({ status: 'completed', steps: {} }).when(timing).then({ kind: 'done' });
    saga.given({ status: 'failed', steps: {} }).when(timing).then({ kind: 'done' });
  });

  it('backs off 250 ms doubling to 2 s with jitter, after what a partner says', () => {
    const top = () => 0.999999;
    const first = nextRetry(undefined, 'timeout', now, undefined, top);
    expect(first).to.deep.include({
      attempts: 1,
      first_failure_at: at,
      next_attempt_at: new Date(now.getTime() + 249).toISOString(),
    });
    expect(new Date(nextRetry(undefined, 'timeout', now, undefined, () => 0).next_attempt_at).getTime()).to.equal(now.getTime());
    const later = new Date(now.getTime() + 1000);
    const second = nextRetry(first, 'open', later, 1500, () => 0);
    expect(second).to.deep.include({
      attempts: 2,
      first_failure_at: at,
      next_attempt_at: new Date(later.getTime() + 1500).toISOString(),
    });
  });
});
