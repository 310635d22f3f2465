import type { Express } from 'express';

/** A dependency check: resolves when the dependency answers. */
export type HealthCheck = () => Promise<unknown>;

export interface HealthReport {
  readonly status: 'ok' | 'unavailable';
  readonly dependencies: Readonly<
    Record<string, { readonly status: 'up' | 'down'; readonly detail?: string; readonly latency_ms: number }>
  >;
}

/** Runs every check at once, each bounded by the timeout; one failing check makes the whole report unavailable. */
export async function checkHealth(checks: Readonly<Record<string, HealthCheck>>, timeoutMs = 2_000): Promise<HealthReport> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [name, { status: 'up' as const, latency_ms: Math.round(performance.now() - started) }] as const;
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        return [name, { status: 'down' as const, detail, latency_ms: Math.round(performance.now() - started) }] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const dependencies = Object.fromEntries(entries);
  const status = entries.every(([, e]) => e.status === 'up') ? 'ok' : 'unavailable';
  return { status, dependencies };
}

/** The minimal part of a kafkajs admin client a health check needs. */
export interface KafkaAdminLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  describeCluster(): Promise<unknown>;
}

/** Kafka answers when the cluster can be described; the admin connects on first use and again after a failure. */
export function kafkaHealthCheck(admin: KafkaAdminLike): HealthCheck {
  let connected = false;
  return async () => {
    if (!connected) {
      await admin.connect();
      connected = true;
    }
    try {
      return await admin.describeCluster();
    } catch (error) {
      connected = false;
      await admin.disconnect().catch(() => undefined);
      throw error;
    }
  };
}

/**
 * The health routes of an API app. `/health/live`: the process answers (a supervisor restarts it when
 * not). `/health/ready`: every dependency and every expected worker (heartbeat) is up, else 503 naming
 * what is down. `/health` is the readiness report too (contract §1: 200 once the system can take
 * orders, 503 with the failing dependency named otherwise).
 */
export function serveHealth(app: Express, checks: Readonly<Record<string, HealthCheck>>): void {
  app.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  const ready = async (_req: unknown, res: { status(code: number): { json(body: unknown): unknown } }) => {
    const report = await checkHealth(checks);
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  };
  app.get('/health/ready', ready);
  app.get('/health', ready);
}
