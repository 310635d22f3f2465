import { numberOption } from '../bench/support.js';
import { printReport, runChaos } from './run.js';

/** `npm run chaos -- [--orders 1000] [--rate 20] [--seed 1] [--settle 180] [--no-infrastructure]`: see chaos/run.ts. */
const args = process.argv.slice(2);
const report = await runChaos({
  orders: numberOption(args, 'orders', 1_000),
  rate: numberOption(args, 'rate', 20),
  seed: numberOption(args, 'seed', 1),
  settleMs: numberOption(args, 'settle', 180) * 1_000,
  infrastructureFaults: !args.includes('--no-infrastructure'),
  say: (line) => console.error(`chaos: ${line}`),
});
process.exitCode = printReport(report, (line) => console.log(line)) ? 0 : 1;
process.exit();
