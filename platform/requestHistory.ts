import { metrics } from './metrics.js';

/**
 * The API's requests per minute and their latency over the last minutes, for the ops page: sampled
 * from this process's own `oms_http_request_duration_seconds` (cumulative, so a minute is the
 * difference between the last samples of two minutes), kept in memory. One process's view: with
 * API_WORKERS > 1 each worker keeps its own (Prometheus has the sum).
 */
export interface RequestMinute {
  /** The minute's start (ISO 8601). */
  readonly minute: string;
  readonly requests: number;
  /** Estimated within the histogram's buckets (linear in the bucket), as Prometheus' histogram_quantile does. */
  readonly p50_ms: number | null;
  readonly p95_ms: number | null;
}

export interface RequestHistory {
  /** The last `minutes` minutes, oldest first (the current one so far included); empty minutes count 0. */
  minutes(minutes: number): Promise<RequestMinute[]>;
  stop(): void;
}

/** Cumulative counts at one moment: the total and per bucket upper bound (seconds; Infinity last). */
interface Sample {
  readonly count: number;
  readonly buckets: ReadonlyMap<number, number>;
}

/** The API's own requests: the operator's page, the metrics scrape and the admin routes are left out. */
const counted = (route: string | number | undefined) =>
  typeof route === 'string' && route.startsWith('/api/v1/') && !route.startsWith('/api/v1/admin/');

async function sample(): Promise<Sample> {
  const { values } = await metrics.httpRequestDuration.get();
  const buckets = new Map<number, number>();
  let count = 0;
  for (const value of values) {
    // Bucket series carry `le` besides the histogram's own labels.
    const labels = value.labels as Partial<Record<'le' | 'route', string | number>>;
    if (!counted(labels.route)) continue;
    if (value.metricName === 'oms_http_request_duration_seconds_count') count += value.value;
    else if (value.metricName === 'oms_http_request_duration_seconds_bucket') {
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + value.value);
    }
  }
  return { count, buckets };
}

/** The q-quantile (ms) of the requests between two samples, interpolated in its bucket; null without requests. */
export function quantileBetween(before: Sample, after: Sample, q: number): number | null {
  const total = after.count - before.count;
  if (total <= 0) return null;
  const bounds = [...after.buckets.keys()].sort((a, b) => a - b);
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const bound of bounds) {
    const upTo = (after.buckets.get(bound) ?? 0) - (before.buckets.get(bound) ?? 0);
    if (upTo >= rank) {
      // Beyond the last finite bucket nothing is known but that it is above it.
      if (bound === Infinity) return Math.round(lower * 1000);
      const within = upTo - below;
      const share = within === 0 ? 1 : (rank - below) / within;
      return Math.round((lower + (bound - lower) * share) * 1000);
    }
    lower = bound;
    below = upTo;
  }
  return Math.round(lower * 1000);
}

const MINUTE = 60_000;
const EMPTY: Sample = { count: 0, buckets: new Map() };

/** Samples every `everyMs` and keeps the last sample of each of the last `keepMinutes` + 1 minutes. */
export function startRequestHistory(everyMs = 5_000, keepMinutes = 15, now: () => number = Date.now): RequestHistory {
  const byMinute = new Map<number, Sample>();
  const take = async () => {
    const at = now();
    const minute = Math.floor(at / MINUTE) * MINUTE;
    byMinute.set(minute, await sample());
    for (const key of byMinute.keys()) if (key < minute - (keepMinutes + 1) * MINUTE) byMinute.delete(key);
  };
  void take();
  const timer = setInterval(() => void take(), everyMs);
  timer.unref();
  return {
    async minutes(count) {
      await take();
      const current = Math.floor(now() / MINUTE) * MINUTE;
      const result: RequestMinute[] = [];
      for (let minute = current - (count - 1) * MINUTE; minute <= current; minute += MINUTE) {
        const after = byMinute.get(minute);
        if (after === undefined) {
          // Before this process started (or while it was stalled): nothing to tell.
          result.push({ minute: new Date(minute).toISOString(), requests: 0, p50_ms: null, p95_ms: null });
          continue;
        }
        // The minute before's last sample; none in the window's first minute after the start: the
        // counts were all 0 when the process started.
        const before = byMinute.get(minute - MINUTE) ?? EMPTY;
        result.push({
          minute: new Date(minute).toISOString(),
          requests: after.count - before.count,
          p50_ms: quantileBetween(before, after, 0.5),
          p95_ms: quantileBetween(before, after, 0.95),
        });
      }
      return result;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
