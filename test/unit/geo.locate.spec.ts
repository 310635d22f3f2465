import { expect } from 'chai';
import { COUNTRY_POINTS, locate } from '../../domain/geo.js';
import { distanceKm } from '../../domain/routing.js';
import { CARRIER_COVERAGE } from '../../platform/carrierProtocol.js';

describe('locating addresses without coordinates (domain)', () => {
  it('keeps coordinates an address carries', () => {
    expect(locate({ country: 'US', postal_code: '02110', lat: 1, lon: 2 })).to.deep.equal({ lat: 1, lon: 2 });
  });

  it('places a US address by its ZIP region: Boston near New England, Los Angeles near California', () => {
    expect(distanceKm(locate({ country: 'US', postal_code: '02110' })!, { lat: 42.36, lon: -71.06 })).to.be.below(100);
    expect(distanceKm(locate({ country: 'US', postal_code: '90001' })!, { lat: 34.05, lon: -118.24 })).to.be.below(400);
  });

  it('falls back to the country, and knows nothing of an unknown one', () => {
    expect(locate({ country: 'NL', postal_code: '1012 AB' })).to.deep.equal(COUNTRY_POINTS.NL);
    expect(locate({ country: 'US', postal_code: 'n/a' })).to.deep.equal(COUNTRY_POINTS.US);
    expect(locate({ country: 'AQ' })).to.equal(undefined);
  });

  it('has a point for every country a sandbox carrier names', () => {
    for (const countries of CARRIER_COVERAGE.values())
      for (const c of countries) if (c !== '*') expect(COUNTRY_POINTS, c).to.have.property(c);
  });
});
