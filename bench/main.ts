import { parseCommandLine, stopped, wholeNumbers } from '../scripts/cli.js';
import { benchConfirm } from './confirm.js';
import { benchIdle } from './idle.js';
import { benchPlace } from './place.js';
import { benchStatus } from './status.js';

const USAGE = `usage: npm run bench -- <benchmark> [options]     (none is part of npm test; run one at a time)
  place    [--seconds 20] [--connections 64] [--rate 1000]   closed loop through the API beside pgbench, then an open loop at --rate
  confirm  [--rate 200] [--seconds 20] [--placement-only]     placement → confirmed (and delivered) latency and CPU per order
  status   [--orders 100000] [--seconds 10] [--connections 32] GET /api/v1/orders/{id} on the public port beside node:http + pg
  replay   [--orders 100000]                                   the replay tool's rebuild rate
  idle     [--seconds 30] [--warmup 15]                        CPU of the idle system
  --help`;

const OPTIONS = {
  seconds: { type: 'string' },
  connections: { type: 'string' },
  rate: { type: 'string' },
  orders: { type: 'string' },
  warmup: { type: 'string' },
  'placement-only': { type: 'boolean' },
} as const;

/** `npm run bench -- <name> [--option value]`: one benchmark per name. */
async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCommandLine('bench', argv, OPTIONS, USAGE);
  if (stopped(parsed)) return parsed.exitCode;
  const [name, ...extra] = parsed.positionals;
  if (extra.length > 0) {
    console.error(`bench: one benchmark at a time (got ${[name, ...extra].join(', ')})\n${USAGE}`);
    return 2;
  }
  const checked = wholeNumbers(parsed.values, ['seconds', 'connections', 'rate', 'orders', 'warmup'], 1);
  if ('error' in checked) {
    console.error(`bench: ${checked.error}`);
    return 2;
  }
  const number = (option: keyof typeof checked.numbers, fallback: number) => checked.numbers[option] ?? fallback;
  switch (name) {
    case 'confirm':
      await benchConfirm({
        rate: number('rate', 200),
        seconds: number('seconds', 20),
        placementOnly: parsed.values['placement-only'] === true,
      });
      return 0;
    case 'place':
      await benchPlace({ seconds: number('seconds', 20), connections: number('connections', 64), rate: number('rate', 1000) });
      return 0;
    case 'status':
      await benchStatus({
        orders: number('orders', 100_000),
        seconds: number('seconds', 10),
        connections: number('connections', 32),
      });
      return 0;
    case 'idle':
      await benchIdle({ seconds: number('seconds', 30), warmup: number('warmup', 15) });
      return 0;
    case 'replay':
      await benchStatus({ orders: number('orders', 100_000), seconds: 1, connections: 1 });
      return 0;
    default:
      console.error(name === undefined ? USAGE : `bench: unknown benchmark "${name}"\n${USAGE}`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
process.exit();
