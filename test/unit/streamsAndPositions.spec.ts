import { expect } from 'chai';
import { allStreams, groupStreams, streamForOrder } from '../../platform/streams.js';
import { comparePositions, formatPosition, parsePosition, PublishedMarks } from '../../relay/outbox.js';
import { compareStreamIds } from '../../relay/redisSink.js';

describe('stream layout and outbox positions', () => {
  const layout = { prefix: 'oms', partitions: 8 };

  it('sends one order always to the same stream of a group, and spreads orders over all of them', () => {
    expect(streamForOrder(layout, 'saga', 'order-1')).to.equal(streamForOrder(layout, 'saga', 'order-1'));
    const used = new Set(Array.from({ length: 400 }, (_, i) => streamForOrder(layout, 'saga', `order-${i}`)));
    expect([...used].sort()).to.deep.equal(groupStreams(layout, 'saga').sort());
  });

  it('gives each group streams of its own', () => {
    const saga = groupStreams(layout, 'saga');
    const router = groupStreams(layout, 'router');
    expect(saga.filter((stream) => router.includes(stream))).to.deep.equal([]);
    expect(allStreams(layout, ['saga', 'router'])).to.deep.equal([...saga, ...router]);
  });

  it('orders outbox positions by transaction id numerically, then by row id', () => {
    const a = { txId: '9', id: 'ffffffff-0000-0000-0000-000000000000' };
    const b = { txId: '10', id: '00000000-0000-0000-0000-000000000000' };
    expect(comparePositions(a, b)).to.equal(-1);
    expect(comparePositions(b, a)).to.equal(1);
    expect(comparePositions(a, { ...a })).to.equal(0);
    expect(parsePosition(formatPosition(b))).to.deep.equal(b);
    expect(() => parsePosition('nonsense')).to.throw();
  });

  it('compares stream ids numerically, not as text', () => {
    expect(compareStreamIds('999-5', '1000-0')).to.equal(-1);
    expect(compareStreamIds('1000-10', '1000-9')).to.equal(1);
    expect(compareStreamIds('1-1', '1-1')).to.equal(0);
  });

  it('tells which outbox rows are older than a retention by where publication had reached and when', () => {
    const marks = new PublishedMarks();
    const at = (txId: string) => ({ txId, id: '00000000-0000-7000-8000-000000000000' });
    expect(marks.through(10_000)).to.equal(undefined);
    marks.note(1_000, at('10'));
    marks.note(2_000, at('10'));
    marks.note(3_000, at('25'));
    marks.note(4_000, at('40'));
    expect(marks.through(500)).to.equal(undefined);
    expect(marks.through(3_500)).to.deep.equal(at('25'));
    // The marks before the answer are forgotten; the answer stays until a newer one is old enough.
    expect(marks.through(3_600)).to.deep.equal(at('25'));
    expect(marks.through(9_000)).to.deep.equal(at('40'));
  });
});
