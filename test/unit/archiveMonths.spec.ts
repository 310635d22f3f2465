import { expect } from 'chai';
import {
  addMonths,
  firstHotMonth,
  keepUntil,
  manifestDifferences,
  monthOf,
  monthOfOrderId,
  monthOfPartition,
  monthsToArchive,
  orderIdRange,
  parseMonth,
  partitionsOf,
  uuid7Floor,
  type ArchiveManifest,
  type Month,
} from '../../domain/archiveMonths.js';
import { createUuidv7Generator } from '../../platform/ids.js';

const m = (text: string) => parseMonth(text) as Month;

describe('archive months: retention calendar and manifests (domain/archiveMonths)', () => {
  it('reads YYYY-MM months and nothing else', () => {
    expect(parseMonth('2024-11')).to.equal('2024-11');
    for (const bad of ['2024-13', '2024-00', '2024-1', '24-11', '2024-11-01', '1969-12', ''])
      expect(parseMonth(bad), bad).to.equal(undefined);
  });

  it('steps over year ends both ways', () => {
    expect(addMonths(m('2024-11'), 2)).to.equal('2025-01');
    expect(addMonths(m('2025-01'), -1)).to.equal('2024-12');
    expect(addMonths(m('2026-11'), -24)).to.equal('2024-11');
  });

  it("bounds a month's order ids as its partitions do: every UUIDv7 of the month, and only those", () => {
    const range = orderIdRange(m('2026-11'));
    // The bounds migration 0018's uuid7_floor gives (checked against PostgreSQL by hand and in the integration test).
    expect(range).to.deep.equal({ from: '01a19467-e800-0000-0000-000000000000', to: '01a22ee6-b000-0000-0000-000000000000' });
    const ids = createUuidv7Generator();
    const first = ids(Date.UTC(2026, 10, 1));
    const last = ids(Date.UTC(2026, 11, 1) - 1);
    const next = ids(Date.UTC(2026, 11, 1));
    expect(first > range.from && last < range.to && next >= range.to).to.equal(true);
    expect([monthOfOrderId(first), monthOfOrderId(last), monthOfOrderId(next)]).to.deep.equal(['2026-11', '2026-11', '2026-12']);
    expect(uuid7Floor(new Date(0))).to.equal('00000000-0000-0000-0000-000000000000');
  });

  it('names partitions and reads them back', () => {
    expect(partitionsOf(m('2024-03'))).to.deep.equal({ orders: 'orders_y2024m03', events: 'order_events_y2024m03' });
    expect(monthOfPartition('order_events_y2024m03')).to.equal('2024-03');
    expect(monthOfPartition('orders_default')).to.equal(undefined);
  });

  it('archives the months before --before, and refuses a --before inside the hot window', () => {
    const now = new Date('2026-11-30T12:00:00Z');
    // 24 months hot: November 2026 and the 23 months before it, so the issue's `--before 2024-12` is allowed.
    expect(firstHotMonth(now, 24)).to.equal('2024-12');
    expect(firstHotMonth(now, 1)).to.equal('2026-11');
    expect(monthsToArchive([m('2024-11'), m('2024-09'), m('2024-10'), m('2024-09')], m('2024-11'), now, 24)).to.deep.equal({
      months: ['2024-09', '2024-10'],
    });
    const refused = monthsToArchive([], m('2025-01'), now, 24);
    expect(refused)
      .to.have.property('refused')
      .that.matches(/ORDER_HOT_MONTHS.*2024-12/);
    expect(monthOf(now)).to.equal('2026-11');
  });

  it('keeps an archive until the end of its month plus the event retention', () => {
    expect(keepUntil(m('2024-11'), 7)).to.equal('2031-12-01');
    expect(keepUntil(m('2024-12'), 7)).to.equal('2032-01-01');
  });

  it('names every difference between a manifest and what is observed', () => {
    const manifest: ArchiveManifest = {
      format: 'oms-archive/1',
      month: m('2024-11'),
      orderIdFrom: 'a',
      orderIdTo: 'b',
      archivedAt: '2026-11-30T00:00:00Z',
      keepUntil: '2031-12-01',
      schemaVersion: '0018_order_event_partitions',
      tables: [
        { table: 'orders', file: 'orders.jsonl.gz', rows: 2, contentSha256: 'c1', fileSha256: 'f1' },
        { table: 'order_events', file: 'order_events.jsonl.gz', rows: 5, contentSha256: 'c2', fileSha256: 'f2' },
      ],
      chain: { orders: 2, events: 5, eventsSha256: 'e', headsSha256: 'h' },
      eventDays: [{ day: '2024-11-03', events: 5 }],
    };
    const same = {
      tables: new Map([
        ['orders', { rows: 2, contentSha256: 'c1', fileSha256: 'f1' }],
        ['order_events', { rows: 5, contentSha256: 'c2' }],
      ]),
      chain: manifest.chain,
    };
    expect(manifestDifferences(manifest, same)).to.deep.equal([]);
    const differences = manifestDifferences(manifest, {
      tables: new Map([
        ['orders', { rows: 2, contentSha256: 'other', fileSha256: 'f9' }],
        ['extra', { rows: 1, contentSha256: 'x' }],
      ]),
      chain: { ...manifest.chain, eventsSha256: 'changed' },
    });
    expect(differences).to.have.length(5);
    expect(differences.join('\n'))
      .to.match(/orders: the rows differ/)
      .and.match(/orders.jsonl.gz: file SHA-256 f9/)
      .and.match(/order_events: not found/)
      .and.match(/extra: not in the manifest/)
      .and.match(/event hashes differ/);
  });
});
