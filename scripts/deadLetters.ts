import { loadConfig } from '../platform/config.js';
import { createRedis } from '../platform/redis.js';
import { CONSUMER_GROUPS, deadLetterStream, parseFields, type StreamLayout } from '../platform/streams.js';
import type { Redis } from '../platform/redis.js';

/** Fields the dead-letter stream adds around the original entry's fields. */
const DEAD_LETTER_FIELDS = new Set(['source_stream', 'source_id', 'deliveries', 'reason']);

export interface DeadLetter {
  readonly id: string;
  readonly group: string;
  readonly source_stream: string;
  readonly source_id: string;
  readonly deliveries: number;
  readonly reason: string;
  readonly event_id: string | undefined;
  readonly order_id: string | undefined;
  readonly type: string | undefined;
}

export async function listDeadLetters(redis: Redis, layout: StreamLayout, group: string, limit = 100): Promise<DeadLetter[]> {
  const entries = await redis.xrange(deadLetterStream(layout, group), '-', '+', 'COUNT', limit);
  return entries.map(([id, fields]) => {
    const f = parseFields(fields);
    return {
      id,
      group,
      source_stream: f.source_stream ?? '',
      source_id: f.source_id ?? '',
      deliveries: Number(f.deliveries ?? 0),
      reason: f.reason ?? '',
      event_id: f.event_id,
      order_id: f.order_id,
      type: f.type,
    };
  });
}

/**
 * Puts dead letters back on the stream they came from (as new entries, so the group delivers them
 * again with a fresh delivery count) and removes them from the dead-letter stream. Returns how many.
 */
export async function redriveDeadLetters(
  redis: Redis,
  layout: StreamLayout,
  group: string,
  ids?: readonly string[],
): Promise<number> {
  const stream = deadLetterStream(layout, group);
  const entries =
    ids === undefined
      ? await redis.xrange(stream, '-', '+')
      : (await Promise.all(ids.map((id) => redis.xrange(stream, id, id)))).flat();
  let redriven = 0;
  for (const [id, fields] of entries) {
    const f = parseFields(fields);
    const original = Object.entries(f).filter(([key]) => !DEAD_LETTER_FIELDS.has(key));
    if (f.source_stream === undefined || original.length === 0) continue;
    await redis.xadd(f.source_stream, '*', ...original.flat());
    await redis.xdel(stream, id);
    redriven++;
  }
  return redriven;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, group, ...ids] = argv;
  const config = loadConfig();
  const layout: StreamLayout = { prefix: config.redisPrefix, partitions: config.redisStreamPartitions };
  const redis = createRedis(config.redisUrl, 'dead-letters-cli');
  try {
    if (command === 'list') {
      const groups = group === undefined ? CONSUMER_GROUPS : [group];
      for (const g of groups) {
        const letters = await listDeadLetters(redis, layout, g, 1_000);
        console.log(`${g}: ${letters.length} dead letter(s)`);
        for (const l of letters)
          console.log(
            `  ${l.id}  ${l.type ?? '?'}  order ${l.order_id ?? '?'}  event ${l.event_id ?? '?'}  after ${l.deliveries} deliveries: ${l.reason}`,
          );
      }
      return 0;
    }
    if (command === 'redrive' && group !== undefined) {
      const count = await redriveDeadLetters(redis, layout, group, ids.length > 0 ? ids : undefined);
      console.log(`re-drove ${count} dead letter(s) of group ${group} back to their streams`);
      return 0;
    }
    console.error('usage: npm run dead-letters -- list [group] | redrive <group> [entry-id …]');
    return 2;
  } finally {
    redis.disconnect();
  }
}

if (process.argv[1]?.endsWith('deadLetters.js')) {
  process.exitCode = await main(process.argv.slice(2));
}
