import { expect } from 'chai';
import { compensationsToRun, waitForPartner } from '../../domain/sagaWorkflow.js';

describe('what every saga workflow shares (domain)', () => {
  const compensations = { reserve: 'release', authorize: 'void' } as const;
  const order = ['reserve', 'authorize'] as const;

  it('runs the compensations of the steps that took effect, latest first', () => {
    expect(
      compensationsToRun(
        compensations,
        order,
        () => true,
        () => false,
      ),
    ).to.deep.equal(['void', 'release']);
  });

  it('leaves out a step that took no effect and a compensation already done', () => {
    expect(
      compensationsToRun(
        compensations,
        order,
        (s) => s === 'reserve',
        () => false,
      ),
    ).to.deep.equal(['release']);
    expect(
      compensationsToRun(
        compensations,
        order,
        () => true,
        (c) => c === 'void',
      ),
    ).to.deep.equal(['release']);
  });

  it("asks a partner again after its own hint, with the first step of the partner backoff's jitter on top", () => {
    const now = new Date('2026-01-01T12:00:00.000Z');
    expect(waitForPartner(now, 1_000, () => 0)).to.deep.equal({
      kind: 'wait',
      until: new Date(now.getTime() + 1_000).toISOString(),
    });
    expect(waitForPartner(now, undefined, () => 0.999999)).to.deep.equal({
      kind: 'wait',
      until: new Date(now.getTime() + 249).toISOString(),
    });
  });
});
