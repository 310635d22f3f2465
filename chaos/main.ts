import { parseCommandLine, stopped } from '../scripts/cli.js';
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
  const number = (option: 'orders' | 'rate' | 'seed' | 'settle', fallback: number): number | undefined => {
    const text = parsed.values[option];
    if (text === undefined) return fallback;
    const value = Number(text);
    if (Number.isInteger(value) && value >= 0) return value;
    console.error(`chaos: --${option} must be a whole number (got "${text}")\n${USAGE}`);
    return undefined;
  };
  const [orders, rate, seed, settle] = [number('orders', 1_000), number('rate', 20), number('seed', 1), number('settle', 180)];
  if (orders === undefined || rate === undefined || seed === undefined || settle === undefined) return 2;
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
