import { expect } from 'chai';
import { parseMoment } from '../../platform/moments.js';

describe('date-times the API takes (RFC 3339, as PostgreSQL and Date can hold them)', () => {
  it('takes a real moment with Z or an offset, T and Z in either case, a fraction to the millisecond', () => {
    expect(parseMoment('2026-06-30T23:59:59Z')?.toISOString()).to.equal('2026-06-30T23:59:59.000Z');
    expect(parseMoment('2026-06-30t23:59:59.123456z')?.toISOString()).to.equal('2026-06-30T23:59:59.123Z');
    expect(parseMoment('2026-07-01T09:59:59+10:00')?.toISOString()).to.equal('2026-06-30T23:59:59.000Z');
    expect(parseMoment('2024-02-29T00:00:00-00:30')?.toISOString()).to.equal('2024-02-29T00:30:00.000Z');
    expect(parseMoment('0001-01-01T00:00:00Z')?.getUTCFullYear()).to.equal(1);
  });

  it('refuses leap seconds, impossible dates, year 0, missing offsets and other shapes', () => {
    for (const text of [
      '2026-06-30T23:59:60Z',
      '2016-12-31T23:59:60.5Z',
      '2026-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T00:60:00Z',
      '0000-01-01T00:00:00Z',
      '2026-01-01T00:00:00',
      '2026-01-01 00:00:00Z',
      '2026-01-01T00:00:00+24:00',
      '2026-01-01T00:00:00+0100',
      '+275760-09-13T00:00:00Z',
      '2026-01-01',
      'Tue, 1 Jan 2026 00:00:00 GMT',
      '1',
      '',
    ]) {
      expect(parseMoment(text), text).to.equal(undefined);
    }
  });
});
