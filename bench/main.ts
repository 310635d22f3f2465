import { benchConfirm } from './confirm.js';
import { benchIdle } from './idle.js';
import { benchPlace } from './place.js';
import { benchStatus } from './status.js';

/** `npm run bench -- <name> [--option value]`: one benchmark per name; none is part of npm test. */
function option(args: readonly string[], name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

const [name, ...args] = process.argv.slice(2);
switch (name) {
  case 'confirm':
    await benchConfirm({
      rate: option(args, 'rate', 200),
      seconds: option(args, 'seconds', 20),
      placementOnly: args.includes('--placement-only'),
    });
    break;
  case 'place':
    await benchPlace({
      seconds: option(args, 'seconds', 20),
      connections: option(args, 'connections', 64),
      rate: option(args, 'rate', 1000),
    });
    break;
  case 'status':
    await benchStatus({
      orders: option(args, 'orders', 100_000),
      seconds: option(args, 'seconds', 10),
      connections: option(args, 'connections', 32),
    });
    break;
  case 'idle':
    await benchIdle({ seconds: option(args, 'seconds', 30), warmup: option(args, 'warmup', 15) });
    break;
  case 'replay':
    await benchStatus({ orders: option(args, 'orders', 100_000), seconds: 1, connections: 1 });
    break;
  default:
    console.error(
      'usage: npm run bench -- place [--seconds 20] [--connections 64] [--rate 1000] | confirm [--rate 200] [--seconds 20] [--placement-only] | status [--orders 100000] [--seconds 10] [--connections 32] | replay [--orders 100000] | idle [--seconds 30] [--warmup 15]',
    );
    process.exitCode = 2;
}
process.exit();
