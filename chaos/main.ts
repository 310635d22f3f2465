import { printReport, runChaos } from './run.js';

/** `npm run chaos -- [--orders 1000] [--rate 20] [--seed 1] [--settle 180] [--no-infrastructure]`: see chaos/run.ts. */
function option(args: readonly string[], name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

const args = process.argv.slice(2);
const report = await runChaos({
  orders: option(args, 'orders', 1_000),
  rate: option(args, 'rate', 20),
  seed: option(args, 'seed', 1),
  settleMs: option(args, 'settle', 180) * 1_000,
  infrastructureFaults: !args.includes('--no-infrastructure'),
  say: (line) => console.error(`chaos: ${line}`),
});
process.exitCode = printReport(report, (line) => console.log(line)) ? 0 : 1;
process.exit();
