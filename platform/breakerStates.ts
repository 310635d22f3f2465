import type { Redis } from './redis.js';

/**
 * Partner circuit breakers' states where an operator can see them: each process keeps its breakers'
 * last states here (observeBreaker records them), and its heartbeat copies them into one Redis hash
 * (`<prefix>:breakers`, field `<kind>/<instance>|<partner>`), at once when one changes. The API's ops
 * overview reads that hash: the breakers live in the workers, not in the process that answers.
 */
export type BreakerStateName = 'closed' | 'half-open' | 'open';

export interface BreakerReport {
  readonly partner: string;
  /** The process: its kind (service name) and instance, as its heartbeat names it. */
  readonly kind: string;
  readonly instance: string;
  readonly state: BreakerStateName;
  /** When the process last wrote it (ms since the epoch). */
  readonly at: number;
}

const states = new Map<string, BreakerStateName>();
const listeners = new Set<() => void>();

/** Records a breaker's state in this process (by partner; several clients of one partner share it). */
export function recordBreakerState(partner: string, state: BreakerStateName): void {
  if (states.get(partner) === state) return;
  states.set(partner, state);
  for (const listener of listeners) listener();
}

/** This process's breakers and their states. */
export function localBreakerStates(): ReadonlyArray<readonly [string, BreakerStateName]> {
  return [...states];
}

/** Calls back on every change of a breaker's state; returns the unsubscribe. */
export function onBreakerStateChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function breakersKey(prefix: string): string {
  return `${prefix}:breakers`;
}

/** The hash fields and values a heartbeat writes for this process's breakers. */
export function breakerFields(member: string, now: number): string[] {
  return localBreakerStates().flatMap(([partner, state]) => [`${member}|${partner}`, JSON.stringify({ state, at: now })]);
}

const STATE_NAMES: readonly string[] = ['closed', 'half-open', 'open'];

/** Parses HGETALL of the hash; a field it cannot read is left out. */
export function parseBreakerReports(raw: Readonly<Record<string, string>>): BreakerReport[] {
  const reports: BreakerReport[] = [];
  for (const [field, value] of Object.entries(raw)) {
    const bar = field.lastIndexOf('|');
    const member = field.slice(0, bar);
    const slash = member.indexOf('/');
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      continue;
    }
    if (bar <= 0 || slash <= 0 || typeof parsed !== 'object' || parsed === null) continue;
    const { state, at } = parsed as { state?: unknown; at?: unknown };
    if (typeof state !== 'string' || !STATE_NAMES.includes(state) || typeof at !== 'number') continue;
    reports.push({
      partner: field.slice(bar + 1),
      kind: member.slice(0, slash),
      instance: member.slice(slash + 1),
      state: state as BreakerStateName,
      at,
    });
  }
  return reports.sort(
    (a, b) => a.partner.localeCompare(b.partner) || a.kind.localeCompare(b.kind) || a.instance.localeCompare(b.instance),
  );
}

/**
 * The breakers of live processes (written within maxAgeMs). Reports of processes gone for an hour are
 * removed on the way, as the heartbeats' sorted set sweeps its old beats.
 */
export async function readBreakerReports(redis: Redis, prefix: string, now: number, maxAgeMs: number): Promise<BreakerReport[]> {
  const key = breakersKey(prefix);
  const reports = parseBreakerReports(await redis.hgetall(key));
  const gone = reports.filter((r) => now - r.at > 3_600_000).map((r) => `${r.kind}/${r.instance}|${r.partner}`);
  if (gone.length > 0) await redis.hdel(key, ...gone);
  return reports.filter((r) => now - r.at <= maxAgeMs);
}
