import { expect } from 'chai';
import {
  childSpan,
  continueTrace,
  correlationIdOf,
  formatTraceparent,
  newTrace,
  parseRequestId,
  parseTraceparent,
} from '../../platform/traceparent.js';

/** A fixed random source: each call answers `size` bytes of the next value (then 0x01 filler). */
const fixedBytes = (...values: number[]) => {
  let call = 0;
  return (size: number) => Buffer.alloc(size, values[call++] ?? 0x01);
};

describe('traceparent (W3C Trace Context) and X-Request-Id', () => {
  const valid = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('parses a version-00 header into its trace id, parent id and flags', () => {
    expect(parseTraceparent(valid)).to.deep.equal({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentId: '00f067aa0ba902b7',
      flags: '01',
    });
  });

  it('refuses what the recommendation calls invalid', () => {
    for (const header of [
      undefined,
      '',
      'garbage',
      valid.toUpperCase(), // upper-case hex
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', // version ff
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01', // all-zero trace id
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', // all-zero parent id
      `${valid}-extra`, // version 00 has exactly four fields
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01', // a digit short
      '00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01',
    ]) {
      expect(parseTraceparent(header), String(header)).to.equal(undefined);
    }
  });

  it('reads the four known fields of a later version, and writes version 00', () => {
    const later = parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future');
    expect(later?.traceId).to.equal('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(formatTraceparent(later!)).to.equal(valid);
  });

  it('continues a valid incoming trace with a span of its own, and starts a new one for anything else', () => {
    const continued = continueTrace(valid, fixedBytes(0xab));
    expect(continued).to.deep.equal({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentId: 'abababababababab', flags: '01' });
    const fresh = continueTrace('00-nonsense', fixedBytes(0x12, 0x34));
    expect(fresh).to.deep.equal({ traceId: '12'.repeat(16), parentId: '34'.repeat(8), flags: '01' });
    expect(parseTraceparent(formatTraceparent(fresh))).to.deep.equal(fresh);
  });

  it('never generates an all-zero id', () => {
    const trace = newTrace(fixedBytes(0x00, 0x07, 0x00, 0x09));
    expect(trace.traceId).to.equal('07'.repeat(16));
    expect(trace.parentId).to.equal('09'.repeat(8));
    expect(childSpan(trace, fixedBytes(0x00, 0x05)).parentId).to.equal('05'.repeat(8));
  });

  it('makes distinct ids with the real random source', () => {
    const traces = Array.from({ length: 100 }, () => formatTraceparent(newTrace()));
    expect(new Set(traces).size).to.equal(100);
    for (const t of traces) expect(parseTraceparent(t)).to.not.equal(undefined);
  });

  it('takes an X-Request-Id of safe characters as the correlation id, else the trace id', () => {
    const trace = parseTraceparent(valid)!;
    expect(correlationIdOf(parseRequestId('req-123_abc.DEF:9/+=@'), trace)).to.equal('req-123_abc.DEF:9/+=@');
    expect(parseRequestId(['first', 'second'])).to.equal('first');
    for (const bad of [undefined, '', 'has space', 'line\nbreak', 'x'.repeat(129), 'quote"d']) {
      expect(parseRequestId(bad), JSON.stringify(bad)).to.equal(undefined);
      expect(correlationIdOf(parseRequestId(bad), trace)).to.equal(trace.traceId);
    }
  });
});
