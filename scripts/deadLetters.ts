import { loadConfig } from '../platform/config.js';
import {
  DeadLetterStatus,
  discardDeadLetter,
  lazyProducer,
  listDeadLetters,
  redriveAllDeadLetters,
  redriveDeadLetter,
  redriveTargets,
  type DeadLetter,
  type DeadLetterStatusName,
} from '../platform/deadLetters.js';
import { poolFromConfig } from '../platform/db.js';
import { isUuid } from '../platform/ids.js';
import { createKafka } from '../platform/kafka.js';
import { Problem } from '../platform/problem.js';
import { createRedis } from '../platform/redis.js';
import { parseCommandLine, stopped } from './cli.js';

/**
 * The dead-letter tool (the admin API's `…/admin/dead-letters` on the command line): list what the
 * consumers gave up on, re-drive it to its consumer group once the cause is fixed, or discard it.
 */
const USAGE = `usage: npm run dead-letters -- list [--group G] [--status dead|redriven|discarded] [--limit N]
       npm run dead-letters -- redrive <id> | --all [--group G]
       npm run dead-letters -- discard <id>
       npm run dead-letters -- --help`;

const OPTIONS = {
  group: { type: 'string' },
  status: { type: 'string' },
  limit: { type: 'string' },
  all: { type: 'boolean' },
} as const;

function line(l: DeadLetter): string {
  return `${l.id}  ${l.status.padEnd(9)}  ${l.source}  ${l.type ?? '?'}  order ${l.order_id ?? '?'}  event ${l.event_id ?? '?'}  ${l.attempts} attempt(s), last ${l.last_failure_at}: ${l.error}`;
}

export async function main(argv: readonly string[], say: (text: string) => void = console.log): Promise<number> {
  const cli = parseCommandLine('dead-letters', argv, OPTIONS, USAGE);
  if (stopped(cli)) return cli.exitCode;
  const parsed = { positional: cli.positionals, options: new Map(Object.entries(cli.values)) };
  const [command, id] = parsed.positional;
  const option = (name: keyof typeof OPTIONS) => {
    const value = parsed.options.get(name);
    return typeof value === 'string' ? value : undefined;
  };
  const limit = option('limit');
  if (limit !== undefined && !/^[1-9][0-9]{0,5}$/.test(limit)) {
    console.error(`--limit must be a whole number from 1\n${USAGE}`);
    return 2;
  }
  const status = option('status');
  if (status !== undefined && !Object.values<string>(DeadLetterStatus).includes(status)) {
    console.error(`--status must be dead, redriven or discarded\n${USAGE}`);
    return 2;
  }
  if ((command === 'discard' || (command === 'redrive' && !parsed.options.has('all'))) && (id === undefined || !isUuid(id))) {
    console.error(`${command} needs a dead letter id\n${USAGE}`);
    return 2;
  }
  if (command !== 'list' && command !== 'redrive' && command !== 'discard') {
    console.error(USAGE);
    return 2;
  }

  const config = loadConfig();
  const pool = poolFromConfig(config, 'dead-letters-cli');
  const redis = createRedis(config.redisUrl, 'dead-letters-cli');
  const producer = lazyProducer(() => createKafka(config.kafkaBrokers, 'dead-letters-cli').producer());
  const targets = redriveTargets(redis, producer.get);
  try {
    if (command === 'list') {
      const letters = await listDeadLetters(pool, {
        group: option('group'),
        status: status as DeadLetterStatusName | undefined,
        limit: Number(option('limit') ?? 1_000),
      });
      say(`${letters.length} dead letter(s)`);
      for (const l of letters) say(`  ${line(l)}`);
    } else if (command === 'redrive' && parsed.options.has('all')) {
      const redriven = await redriveAllDeadLetters(pool, targets, option('group'));
      say(`re-drove ${redriven.length} dead letter(s)`);
      for (const l of redriven) say(`  ${line(l)}`);
    } else if (command === 'redrive') {
      say(`re-drove ${line(await redriveDeadLetter(pool, targets, id as string))}`);
    } else {
      say(`discarded ${line(await discardDeadLetter(pool, id as string))}`);
    }
    return 0;
  } catch (error) {
    if (error instanceof Problem) {
      console.error(error.message);
      return 1;
    }
    throw error;
  } finally {
    await producer.close().catch(() => undefined);
    redis.disconnect();
    await pool.end();
  }
}

if (process.argv[1]?.endsWith('deadLetters.js')) {
  process.exitCode = await main(process.argv.slice(2));
}
