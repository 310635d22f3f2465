import type { Kafka } from 'kafkajs';
import type { Config } from './config.js';
import { createPool, poolFromConfig, type Pool } from './db.js';
import type { Logger } from './logger.js';
import { PspClient } from './psp.js';
import { createRedis, type Redis } from './redis.js';

/**
 * A service's stop, built as it starts: each step registered after what it depends on, run in reverse
 * order. A connection the caller supplied (a test system sharing one pool among its services) is the
 * caller's to close; one the service made itself is closed here.
 */
export class Shutdown {
  private readonly steps: Array<() => Promise<unknown> | void> = [];

  /** A step of the stop; steps run last-registered first. */
  add(step: () => Promise<unknown> | void): void {
    this.steps.push(step);
  }

  /** `given` when the caller supplied it (and then left open), else one made by `create` and closed on stop. */
  own<T>(given: T | undefined, create: () => T, close: (made: T) => Promise<unknown> | void): T {
    if (given !== undefined) return given;
    const made = create();
    this.steps.push(() => close(made));
    return made;
  }

  /** The caller's pool, or one made here and ended on stop. */
  pool(given: Pool | undefined, create: () => Pool): Pool {
    return this.own(given, create, (made) => made.end());
  }

  /** Starts a part (a worker, a consumer) and stops it on stop, before what was registered ahead of it. */
  async start<T extends { start(): Promise<void> | void; stop(): Promise<unknown> }>(part: T): Promise<T> {
    await part.start();
    this.steps.push(() => part.stop());
    return part;
  }

  /** Runs every step, each even if one before it failed; then throws the first failure, if any. */
  async run(): Promise<void> {
    let failure: { readonly error: unknown } | undefined;
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
  }
}

/** What a service's `start` returns at the least: its stop. */
export interface RunningService {
  stop(): Promise<void>;
}

/** A started service: the handles its caller uses (a test reaches into a worker), and its stop. */
export type Started<T extends object> = T & RunningService;

/**
 * Runs a service's wiring with the stop it builds as it goes; a start that fails half-way stops what it
 * had started, so a caller that retries (a test, a supervisor) finds no connection left open.
 */
export async function startService<T extends object>(wire: (shutdown: Shutdown) => Promise<T>): Promise<Started<T>> {
  const shutdown = new Shutdown();
  try {
    const handles = await wire(shutdown);
    return { ...handles, stop: () => shutdown.run() };
  } catch (error) {
    await shutdown.run().catch(() => undefined);
    throw error;
  }
}

/**
 * What a caller hands a service's `start`: its logger always; the connections it shares among the
 * services of one process (a test system runs them all in one), each optional, else the service makes
 * its own from the configuration.
 */
export interface ServiceDeps {
  readonly logger: Logger;
  readonly pool?: Pool;
  /** The Redis connection for commands (a blocking reader is always the service's own). */
  readonly redis?: Redis;
  /** The Kafka client (it holds no connection of its own: each consumer and producer made from it does). */
  readonly kafka?: Kafka;
}

/** The connections of a worker on the Redis streams: the pool, a blocking reader of its own, and one for commands. */
export function streamConnections(
  config: Config,
  deps: ServiceDeps,
  name: string,
  shutdown: Shutdown,
): { readonly pool: Pool; readonly reader: Redis; readonly commands: Redis } {
  const pool = shutdown.pool(deps.pool, () => poolFromConfig(config, name));
  const reader = createRedis(config.redisUrl, `${name}-reader`);
  shutdown.add(() => reader.disconnect());
  const commands = shutdown.own(
    deps.redis,
    () => createRedis(config.redisUrl, name),
    (r) => r.quit(),
  );
  return { pool, reader, commands };
}

/** A partner sandbox's pool on its own schema, as the sandbox's role (SANDBOX_DATABASE_URL), which owns it. */
export function sandboxPool(config: Config, schema: string, max: number, applicationName: string): Pool {
  return createPool({ databaseUrl: config.sandboxDatabaseUrl, schema, max, applicationName });
}

/**
 * The caller's PSP client (a test system shares one), or one of the service's own from PSP_URL, shut
 * down on stop; `made` sees only a client made here (the saga worker logs its breaker's changes).
 */
export function pspClient(
  config: Config,
  given: PspClient | undefined,
  shutdown: Shutdown,
  made: (client: PspClient) => void = () => undefined,
): PspClient {
  return shutdown.own(
    given,
    () => {
      const client = new PspClient({ baseUrl: config.pspUrl, timeoutMs: config.pspTimeoutMs });
      made(client);
      return client;
    },
    (client) => client.shutdown(),
  );
}
