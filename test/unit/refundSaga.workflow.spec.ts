import { expect } from 'chai';
import {
  allocateRefund,
  NOT_ENOUGH_CAPTURED,
  nextRefundAction,
  refundAtPspOutcome,
  type RefundSteps,
} from '../../domain/refundSaga.js';

const running = (steps: RefundSteps) => ({ status: 'running', steps }) as const;
const part = { capture_id: 'c1', payment_id: 'p1', psp_capture_id: 'x1', amount: 300 };
const refunded = { ...part, psp_refund_id: 'r1' };

describe('refund saga workflow (domain)', () => {
  it('given a new refund, allocates it over the captures first', () => {
    expect(nextRefundAction(running({}))).to.deep.equal({ kind: 'allocate' });
  });

  it('given an allocation, refunds its parts at the PSP', () => {
    expect(nextRefundAction(running({ allocate: { status: 'succeeded', allocations: [part] } }))).to.deep.equal({
      kind: 'refund_at_psp',
      allocations: [part],
    });
  });

  it('fails the refund when not enough was captured', () => {
    expect(nextRefundAction(running({ allocate: { status: 'failed', reason: NOT_ENOUGH_CAPTURED } }))).to.deep.equal({
      kind: 'fail',
      reason: NOT_ENOUGH_CAPTURED,
    });
  });

  it('books what the PSP refunded and issues the credit note, then is done', () => {
    const atPsp = { status: 'succeeded', refunds: [refunded] } as const;
    const steps: RefundSteps = { allocate: { status: 'succeeded', allocations: [part] }, refund_at_psp: atPsp };
    expect(nextRefundAction(running(steps))).to.deep.equal({ kind: 'issue_credit_note', refunded: atPsp });
    expect(nextRefundAction({ status: 'completed', steps })).to.deep.equal({ kind: 'done' });
  });

  it('spreads the amount over captures oldest first, each up to what it has left, or answers that they do not cover it', () => {
    const captures = [
      { capture_id: 'c1', payment_id: 'p1', psp_capture_id: 'x1', left: 0 },
      { capture_id: 'c2', payment_id: 'p1', psp_capture_id: 'x2', left: 200 },
      { capture_id: 'c3', payment_id: 'p1', psp_capture_id: 'x3', left: 500 },
    ];
    expect(allocateRefund(450, captures)).to.deep.equal([
      { capture_id: 'c2', payment_id: 'p1', psp_capture_id: 'x2', amount: 200 },
      { capture_id: 'c3', payment_id: 'p1', psp_capture_id: 'x3', amount: 250 },
    ]);
    expect(allocateRefund(701, captures)).to.equal(undefined);
  });

  it('fails when the PSP refuses before refunding anything, and books a partial refund when it refuses a later part', () => {
    expect(refundAtPspOutcome({ refunds: [refunded] })).to.deep.equal({
      kind: 'record',
      result: { status: 'succeeded', refunds: [refunded] },
    });
    expect(refundAtPspOutcome({ refunds: [], refused: 'PSP refused: no' })).to.deep.equal({
      kind: 'fail',
      reason: 'PSP refused: no',
    });
    expect(refundAtPspOutcome({ refunds: [refunded], refused: 'PSP refused: no' })).to.deep.equal({
      kind: 'record',
      result: { status: 'partial', refunds: [refunded], refused: 'PSP refused: no' },
    });
  });
});
