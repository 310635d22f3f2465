import { expect } from 'chai';
import { ifMatchAllows, parseIfMatch } from '../../platform/entityTags.js';

describe('If-Match (RFC 9110): 412 for a tag that matches nothing, 400 only for what is no tag', () => {
  const order = '01900000-0000-7000-8000-000000000001';
  const current = ['12', `${order}:12`];
  const allows = (header: string) => {
    const condition = parseIfMatch(header);
    if (condition === undefined) throw new Error(`${header} did not parse`);
    return ifMatchAllows(condition, current);
  };

  it('matches the query service ETag, the quoted version, a bare version, a list holding one of them, and *', () => {
    for (const header of [`"${order}:12"`, '"12"', '12', '"3", "12"', ` , "1",  "12" ,`, '*']) {
      expect(allows(header), header).to.equal(true);
    }
  });

  it('reads well-formed tags that match nothing: "0", a weak tag (strong comparison), another order, any opaque text', () => {
    for (const header of [
      '"0"',
      '0',
      'W/"12"',
      `W/"${order}:12"`,
      '"01900000-0000-7000-8000-000000000002:12"',
      '"abc"',
      '""',
      '"12x"',
      '"1", "2"',
    ]) {
      expect(parseIfMatch(header), header).to.not.equal(undefined);
      expect(allows(header), header).to.equal(false);
    }
    expect(parseIfMatch('"99999999999999999999"')).to.deep.equal([{ weak: false, opaque: '99999999999999999999' }]);
  });

  it('refuses what is not an entity tag', () => {
    for (const header of [
      '',
      'abc',
      '"unterminated',
      '"1" "2"',
      '*, "1"',
      'W/ "1"',
      'w/"1"',
      '"a"b',
      '"quo"te"',
      '"tab\there"',
      '"12 "',
      '-1',
      '1.5',
    ]) {
      expect(parseIfMatch(header), JSON.stringify(header)).to.equal(undefined);
    }
  });
});
