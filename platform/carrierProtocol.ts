/**
 * The carrier protocol, in one place beside the WMS protocol (wmsProtocol.ts): the statuses a carrier
 * reports, the tracking-number format and which countries each carrier serves. Both sides use it: the
 * tracker reads statuses by it (and translates them into shipment statuses, workers/tracking/
 * trackingUpdate.ts), the router passes its coverage to the routing rules, the WMS sandbox makes
 * tracking numbers by it and the carrier sandbox answers by it. Pure (no I/O) and knows no order rules.
 */

/** Carrier statuses the tracker understands, in the order a parcel goes through them. */
export const CarrierStatus = Object.freeze({
  labelCreated: 'label_created',
  inTransit: 'in_transit',
  delivered: 'delivered',
} as const);
export type CarrierStatusName = (typeof CarrierStatus)[keyof typeof CarrierStatus];

const KNOWN_STATUSES: readonly string[] = Object.values(CarrierStatus);

/** Whether a carrier's answer is a status the tracker understands (anything else: ask again later). */
export function isCarrierStatus(value: unknown): value is CarrierStatusName {
  return typeof value === 'string' && KNOWN_STATUSES.includes(value);
}

/** Which countries each carrier of the sandbox serves ('*': everywhere). */
export const CARRIER_COVERAGE: ReadonlyMap<string, readonly string[]> = new Map<string, readonly string[]>([
  ['ups', ['US', 'CA', 'MX', 'GB', 'IE', 'FR', 'DE', 'NL', 'BE', 'LU', 'ES', 'PT', 'IT', 'CH', 'AT', 'DK', 'SE', 'PL']],
  ['fedex', ['US', 'CA', 'MX', 'BR', 'GB', 'DE', 'FR', 'JP', 'SG', 'AU', 'CN', 'IN', 'KR']],
  ['usps', ['US']],
  ['dhl', ['*']],
  ['postnl', ['NL', 'BE', 'LU']],
]);

/**
 * Tracking numbers of the sandbox carriers: `UPS-<label time, base 36 ms>-<6 random>`. The label time
 * travels in the number, so the carrier simulator can answer any tracking number without storage
 * (and after a restart) by how long ago its label was made.
 */
const TRACKING_NUMBER_FORMAT = /^([A-Z]{2,8})-([0-9a-z]{6,12})-([0-9A-Z]{6})$/;

export function makeTrackingNumber(carrier: string, labelAt: number, random: () => number = Math.random): string {
  const suffix = Array.from({ length: 6 }, () => '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ'[Math.floor(random() * 34)]).join('');
  return `${carrier.toUpperCase()}-${labelAt.toString(36)}-${suffix}`;
}

export function parseTrackingNumber(value: string): { carrier: string; labelAt: number } | undefined {
  const match = TRACKING_NUMBER_FORMAT.exec(value);
  if (match === null) return undefined;
  const labelAt = parseInt(match[2] as string, 36);
  return Number.isSafeInteger(labelAt) ? { carrier: (match[1] as string).toLowerCase(), labelAt } : undefined;
}
