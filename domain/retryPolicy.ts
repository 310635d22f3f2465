/** Random numbers in [0, 1): Math.random in production, fixed values in tests. */
export type Random = () => number;

/**
 * Exponential backoff with "equal jitter" (half the delay fixed, half random): `baseMs` doubling per
 * attempt up to `capMs`, of which a random half is taken off, so many callers that failed together do
 * not come back together, and each still waits at least half the delay.
 */
export function backoffMs(attempt: number, options: { baseMs: number; capMs: number }, random: Random = Math.random): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * A wait somebody asked for (until a circuit breaker lets a call through), lengthened by up to a
 * quarter at random, so the callers waiting for it do not all arrive at the same moment.
 */
export function jittered(ms: number, random: Random = Math.random): number {
  return Math.round(ms + (random() * ms) / 4);
}
