import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { machineProcesses } from '../bench/support.js';
import type { Pool } from '../platform/db.js';
import { createKafka } from '../platform/kafka.js';
import type { Redis } from '../platform/redis.js';
import { allStreams, type StreamLayout } from '../platform/streams.js';
import { SUBSCRIBERS } from '../domain/subscriptions.js';
import { KafkaSink } from '../relay/kafkaSink.js';
import { OUTBOX_ROW_COLUMNS, type OutboxRow } from '../relay/outbox.js';

/** A fault done to the running system, for the report. */
export interface InjectedFault {
  readonly at: number;
  readonly fault: string;
  readonly detail: string;
}

/** The service processes a supervisor runs, by service (their entry point under dist/), with their pids. */
export function serviceProcesses(supervisorPid: number): Map<string, number> {
  const found = new Map<string, number>();
  for (const p of machineProcesses()) {
    const name = p.ppid === supervisorPid ? /dist\/(.+?)(?:\/main)?\.js/.exec(p.cmdline)?.[1] : undefined;
    if (name !== undefined) found.set(name, p.pid);
  }
  return found;
}

/** A process of this machine by a pattern of its command line (the Kafka broker, redis-server). */
function processMatching(pattern: RegExp): number | undefined {
  return machineProcesses().find((p) => pattern.test(p.cmdline))?.pid;
}

/** SIGKILLs one service process; the supervisor starts it again. */
export function killService(supervisorPid: number, service: string): string {
  const pid = serviceProcesses(supervisorPid).get(service);
  if (pid === undefined) return `${service} was not running (restarting already)`;
  process.kill(pid, 'SIGKILL');
  return `SIGKILL ${service} (pid ${pid})`;
}

/** Restarts the local PostgreSQL cluster with the machine's own command (every connection is cut). */
export function restartPostgres(): string {
  const versions = spawnSync('ls', ['/etc/postgresql'], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  const version = versions.at(-1);
  if (version === undefined) return 'skipped: no local PostgreSQL cluster to restart';
  const result = spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`pg_ctlcluster restart failed: ${result.stderr}`);
  return `pg_ctlcluster ${version} main restart`;
}

/** Freezes a process (SIGSTOP) for `ms`, then lets it go on (SIGCONT): a broker that stops answering. */
async function freeze(pid: number, ms: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  try {
    await sleep(ms);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

export async function stopKafka(ms: number): Promise<string> {
  const pid = processMatching(/kafka\.Kafka/);
  if (pid === undefined) return 'skipped: no local Kafka broker';
  await freeze(pid, ms);
  return `Kafka broker (pid ${pid}) stopped for ${ms / 1000} s`;
}

export async function stopRedis(ms: number): Promise<string> {
  const pid = processMatching(/^redis-server/);
  if (pid === undefined) return 'skipped: no local Redis';
  await freeze(pid, ms);
  return `Redis (pid ${pid}) stopped for ${ms / 1000} s`;
}

export async function flushRedis(redis: Redis): Promise<string> {
  await redis.flushall();
  return 'FLUSHALL';
}

/**
 * Duplicates and reorders deliveries on the Redis streams: copies of `count` random entries already
 * delivered are added again at the streams' ends (so they arrive twice, and after later entries).
 */
export async function duplicateStreamEntries(redis: Redis, layout: StreamLayout, count: number): Promise<string> {
  let copied = 0;
  for (const stream of allStreams(layout, SUBSCRIBERS)) {
    const entries = (await redis.xrevrange(stream, '+', '-', 'COUNT', 50)) as Array<[string, string[]]>;
    for (const [, fields] of entries.slice(5, 5 + Math.ceil(count / layout.partitions))) {
      await redis.xadd(stream, '*', ...fields);
      copied++;
    }
  }
  return `${copied} stream entries delivered again, out of order`;
}

/** Duplicates and reorders on Kafka: `count` recent order events published to the topic once more. */
export async function duplicateKafkaMessages(
  pool: Pool,
  brokers: readonly string[],
  topic: string,
  count: number,
): Promise<string> {
  const rows = await pool.query<OutboxRow>(
    `SELECT ${OUTBOX_ROW_COLUMNS} FROM outbox o
      WHERE type IN ('shipment.created', 'shipment.cancel_requested', 'order.confirmed') ORDER BY random() LIMIT $1`,
    [count],
  );
  const producer = createKafka(brokers, 'chaos-duplicates').producer();
  await producer.connect();
  try {
    await new KafkaSink(producer, topic).publish(rows.rows);
  } finally {
    await producer.disconnect();
  }
  return `${rows.rows.length} Kafka messages published again, out of order`;
}
