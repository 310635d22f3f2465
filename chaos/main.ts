import { parseCommandLine, stopped, wholeNumbers } from '../scripts/cli.js';
import { printReport, runChaos } from './run.js';

const USAGE = `usage: npm run chaos -- [--orders 1000] [--rate 20] [--seed 1] [--settle 180] [--no-infrastructure]
  a run of the whole system under faults (see chaos/run.ts); exits 1 when an invariant does not hold
       npm run chaos -- --help`;

const OPTIONS = {
  orders: { type: 'string' },
  rate: { type: 'string' },
  seed: { type: 'string' },
  settle: { type: 'string' },
  'no-infrastructure': { type: 'boolean' },
} as const;

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCommandLine('chaos', argv, OPTIONS, USAGE);
  if (stopped(parsed)) return parsed.exitCode;
  const checked = wholeNumbers(parsed.values, ['orders', 'rate', 'seed', 'settle'], 0);
  if ('error' in checked) {
    console.error(`chaos: ${checked.error}\n${USAGE}`);
    return 2;
  }
  const { orders = 1_000, rate = 20, seed = 1, settle = 180 } = checked.numbers;
  const report = await runChaos({
    orders,
    rate,
    seed,
    settleMs: settle * 1_000,
    infrastructureFaults: parsed.values['no-infrastructure'] !== true,
    say: (line) => console.error(`chaos: ${line}`),
  });
  return printReport(report, (line) => console.log(line)) ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
process.exit();
