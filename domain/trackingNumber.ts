/**
 * Tracking numbers of the sandbox carriers: `UPS-<label time, base 36 ms>-<6 random>`. The label time
 * travels in the number, so the carrier simulator can answer any tracking number without storage
 * (and after a restart) by how long ago its label was made.
 */
const FORMAT = /^([A-Z]{2,8})-([0-9a-z]{6,12})-([0-9A-Z]{6})$/;

export function makeTrackingNumber(carrier: string, labelAt: number, random: () => number = Math.random): string {
  const suffix = Array.from({ length: 6 }, () => '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ'[Math.floor(random() * 34)]).join('');
  return `${carrier.toUpperCase()}-${labelAt.toString(36)}-${suffix}`;
}

export function parseTrackingNumber(value: string): { carrier: string; labelAt: number } | undefined {
  const match = FORMAT.exec(value);
  if (match === null) return undefined;
  const labelAt = parseInt(match[2] as string, 36);
  return Number.isSafeInteger(labelAt) ? { carrier: (match[1] as string).toLowerCase(), labelAt } : undefined;
}
