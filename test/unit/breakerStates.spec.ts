import { expect } from 'chai';
import { breakerFields, localBreakerStates, parseBreakerReports, recordBreakerState } from '../../platform/breakerStates.js';

describe('breaker states: what a heartbeat writes and the ops overview reads back', () => {
  it('writes each breaker of this process under its member, and reads it back by partner and process', () => {
    recordBreakerState('unit-test-partner', 'open');
    expect(localBreakerStates()).to.deep.include(['unit-test-partner', 'open']);
    const fields = breakerFields('saga/host:42', 1_000);
    const raw: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) raw[fields[i]!] = fields[i + 1]!;
    expect(parseBreakerReports(raw)).to.deep.include({
      partner: 'unit-test-partner',
      kind: 'saga',
      instance: 'host:42',
      state: 'open',
      at: 1_000,
    });
  });

  it('leaves out what it cannot read (no kind, an unknown state, not JSON)', () => {
    expect(
      parseBreakerReports({
        'saga/h:1|psp': '{"state":"half-open","at":5}',
        'nokind|psp': '{"state":"open","at":5}',
        'saga/h:1|wms': '{"state":"melted","at":5}',
        'saga/h:1|carrier': 'not json',
        'saga/h:1': '{"state":"open","at":5}',
      }),
    ).to.deep.equal([{ partner: 'psp', kind: 'saga', instance: 'h:1', state: 'half-open', at: 5 }]);
  });
});
