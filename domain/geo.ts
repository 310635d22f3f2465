/**
 * Where an address is when it carries no coordinates: by country (a representative point: the
 * population centre rather than the geometric centre, so distances to warehouses are realistic),
 * refined for the United States by the first digit of the ZIP code. A table the project ships;
 * routing needs only a plausible point, not a geocoder.
 */
export interface GeoPoint {
  readonly lat: number;
  readonly lon: number;
}

export const COUNTRY_POINTS: Readonly<Record<string, GeoPoint>> = Object.freeze({
  US: { lat: 39.8, lon: -89.6 },
  CA: { lat: 45.4, lon: -75.7 },
  MX: { lat: 19.4, lon: -99.1 },
  BR: { lat: -23.5, lon: -46.6 },
  AR: { lat: -34.6, lon: -58.4 },
  GB: { lat: 52.5, lon: -1.5 },
  IE: { lat: 53.3, lon: -6.3 },
  FR: { lat: 47.0, lon: 2.4 },
  DE: { lat: 50.9, lon: 9.7 },
  NL: { lat: 52.2, lon: 5.3 },
  BE: { lat: 50.8, lon: 4.4 },
  LU: { lat: 49.6, lon: 6.1 },
  ES: { lat: 40.4, lon: -3.7 },
  PT: { lat: 39.4, lon: -8.6 },
  IT: { lat: 43.0, lon: 12.5 },
  CH: { lat: 47.1, lon: 8.2 },
  AT: { lat: 48.0, lon: 15.0 },
  DK: { lat: 55.7, lon: 11.0 },
  SE: { lat: 59.3, lon: 16.5 },
  NO: { lat: 60.5, lon: 9.5 },
  FI: { lat: 61.5, lon: 24.5 },
  PL: { lat: 52.0, lon: 19.4 },
  CZ: { lat: 49.9, lon: 15.3 },
  GR: { lat: 38.5, lon: 23.3 },
  TR: { lat: 39.9, lon: 32.9 },
  IL: { lat: 32.0, lon: 34.8 },
  AE: { lat: 25.1, lon: 55.2 },
  IN: { lat: 22.0, lon: 78.5 },
  CN: { lat: 32.0, lon: 114.0 },
  JP: { lat: 35.7, lon: 137.0 },
  KR: { lat: 37.0, lon: 127.3 },
  SG: { lat: 1.35, lon: 103.8 },
  MY: { lat: 3.1, lon: 101.7 },
  TH: { lat: 13.8, lon: 100.5 },
  ID: { lat: -6.5, lon: 107.0 },
  PH: { lat: 14.6, lon: 121.0 },
  AU: { lat: -33.0, lon: 148.0 },
  NZ: { lat: -38.5, lon: 175.5 },
  ZA: { lat: -26.2, lon: 28.0 },
  NG: { lat: 7.5, lon: 4.5 },
  EG: { lat: 30.0, lon: 31.2 },
});

/** US ZIP codes by first digit: the population centre of each region. */
const US_ZIP_REGIONS: ReadonlyArray<GeoPoint> = Object.freeze([
  { lat: 42.3, lon: -71.8 }, // 0 New England, NJ, PR
  { lat: 41.5, lon: -75.5 }, // 1 NY, PA, DE
  { lat: 37.5, lon: -78.5 }, // 2 DC, MD, VA, WV, NC, SC
  { lat: 31.0, lon: -84.5 }, // 3 FL, GA, AL, TN, MS
  { lat: 40.0, lon: -84.5 }, // 4 IN, KY, MI, OH
  { lat: 43.5, lon: -93.5 }, // 5 IA, MN, SD, ND, MT, WI
  { lat: 39.0, lon: -94.5 }, // 6 IL, MO, KS, NE
  { lat: 32.0, lon: -95.5 }, // 7 AR, LA, OK, TX
  { lat: 37.5, lon: -109.0 }, // 8 AZ, CO, ID, NM, NV, UT, WY
  { lat: 36.5, lon: -119.5 }, // 9 CA, OR, WA, AK, HI
]);

/**
 * The point an address stands for: its own coordinates when it has them, else its US ZIP region, else
 * its country's point; undefined for a country the table does not know.
 */
export function locate(address: { country: string; postal_code?: string; lat?: number; lon?: number }): GeoPoint | undefined {
  if (address.lat !== undefined && address.lon !== undefined) return { lat: address.lat, lon: address.lon };
  if (address.country === 'US' && address.postal_code !== undefined && /^\d/.test(address.postal_code)) {
    return US_ZIP_REGIONS[Number(address.postal_code[0])];
  }
  return COUNTRY_POINTS[address.country];
}
