import { benchConfirm } from './confirm.js';
import { benchIdle } from './idle.js';
import { benchPlace } from './place.js';
import { benchStatus } from './status.js';
import { numberOption } from './support.js';

/** `npm run bench -- <name> [--option value]`: one benchmark per name; none is part of npm test. */
const [name, ...args] = process.argv.slice(2);
switch (name) {
  case 'confirm':
    await benchConfirm({
      rate: numberOption(args, 'rate', 200),
      seconds: numberOption(args, 'seconds', 20),
      placementOnly: args.includes('--placement-only'),
    });
    break;
  case 'place':
    await benchPlace({
      seconds: numberOption(args, 'seconds', 20),
      connections: numberOption(args, 'connections', 64),
      rate: numberOption(args, 'rate', 1000),
    });
    break;
  case 'status':
    await benchStatus({
      orders: numberOption(args, 'orders', 100_000),
      seconds: numberOption(args, 'seconds', 10),
      connections: numberOption(args, 'connections', 32),
    });
    break;
  case 'idle':
    await benchIdle({ seconds: numberOption(args, 'seconds', 30), warmup: numberOption(args, 'warmup', 15) });
    break;
  case 'replay':
    await benchStatus({ orders: numberOption(args, 'orders', 100_000), seconds: 1, connections: 1 });
    break;
  default:
    console.error(
      'usage: npm run bench -- place [--seconds 20] [--connections 64] [--rate 1000] | confirm [--rate 200] [--seconds 20] [--placement-only] | status [--orders 100000] [--seconds 10] [--connections 32] | replay [--orders 100000] | idle [--seconds 30] [--warmup 15]',
    );
    process.exitCode = 2;
}
process.exit();
