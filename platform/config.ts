/**
 * Configuration: environment variables with working defaults. Every setting the system reads is listed
 * here (and in the README's configuration table), so nothing else touches process.env.
 */
export interface Config {
  readonly databaseUrl: string;
  /** PostgreSQL schema the services use (search_path); tests run in schemas of their own. */
  readonly databaseSchema: string;
  readonly dbPoolSize: number;
  readonly redisUrl: string;
  readonly kafkaBrokers: readonly string[];
  readonly kafkaTopicPartitions: number;
  readonly host: string;
  readonly port: number;
  readonly logLevel: string;
  readonly idempotencyTtlHours: number;
  /** An in-flight Idempotency-Key whose request never finished (a crashed process) may be retried after this. */
  readonly idempotencyLockTimeoutMs: number;
  readonly orderPartitionsAheadMonths: number;
  readonly seedDemoCatalog: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

function intFrom(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`configuration: ${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return value;
}

function boolFrom(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new Error(`configuration: ${name} must be true or false, got "${raw}"`);
}

export function loadConfig(env: Env = process.env): Config {
  const schema = env.DATABASE_SCHEMA ?? 'public';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`configuration: DATABASE_SCHEMA must be a plain lower-case identifier, got "${schema}"`);
  }
  return Object.freeze({
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/oms',
    databaseSchema: schema,
    dbPoolSize: intFrom(env, 'DB_POOL_SIZE', 10, 1),
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    kafkaBrokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092')
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b.length > 0),
    kafkaTopicPartitions: intFrom(env, 'KAFKA_TOPIC_PARTITIONS', 64, 1),
    host: env.HOST ?? '127.0.0.1',
    port: intFrom(env, 'PORT', 8080, 0),
    logLevel: env.LOG_LEVEL ?? 'info',
    idempotencyTtlHours: intFrom(env, 'IDEMPOTENCY_TTL_HOURS', 24, 24),
    idempotencyLockTimeoutMs: intFrom(env, 'IDEMPOTENCY_LOCK_TIMEOUT_MS', 60_000, 1),
    orderPartitionsAheadMonths: intFrom(env, 'ORDER_PARTITIONS_AHEAD_MONTHS', 3, 1),
    seedDemoCatalog: boolFrom(env, 'SEED_DEMO_CATALOG', true),
  });
}
