import { expect } from 'chai';
import { assessFraud, type FraudInput } from '../../domain/fraudRules.js';

const base: FraudInput = {
  amount: 5_000,
  currency: 'USD',
  ordersLastHour: 1,
  shippingCountry: 'US',
  billingCountry: 'US',
  cardRisk: 'normal',
};

describe('fraud rules (domain)', () => {
  it('accepts an ordinary order with score 0', () => {
    expect(assessFraud(base)).to.deep.equal({ score: 0, reasons: [], decision: 'accept' });
  });

  it("rejects on the card's highest risk signal alone", () => {
    const result = assessFraud({ ...base, cardRisk: 'highest' });
    expect(result.decision).to.equal('reject');
    expect(result.reasons).to.deep.equal(['card risk level highest']);
  });

  it('adds up signals: a large amount shipped abroad from another billing country is accepted, plus an elevated card rejected', () => {
    const abroad = assessFraud({ ...base, amount: 600_000, billingCountry: 'FR' });
    expect(abroad).to.include({ score: 55, decision: 'accept' });
    expect(assessFraud({ ...base, amount: 600_000, billingCountry: 'FR', cardRisk: 'elevated' })).to.include({
      score: 95,
      decision: 'reject',
    });
  });

  it('scores velocity: more than 5 orders an hour is suspicious, more than 10 rejects with a very large amount', () => {
    expect(assessFraud({ ...base, ordersLastHour: 6 }).score).to.equal(40);
    expect(assessFraud({ ...base, ordersLastHour: 11 })).to.include({ score: 70, decision: 'accept' });
    expect(assessFraud({ ...base, ordersLastHour: 11, amount: 2_000_000 })).to.include({ score: 100, decision: 'reject' });
  });

  it('ignores a missing billing address', () => {
    expect(assessFraud({ ...base, billingCountry: null }).score).to.equal(0);
  });
});
