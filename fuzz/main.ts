import { runFuzz } from './run.js';
import { startFuzzSystem } from './system.js';

/**
 * `npm run fuzz -- [--runs N] [--seed S] [--verbose]`: starts the API and the partners' sandboxes as
 * processes on a schema of their own, sends N generated requests (seed S: the same seed sends the same
 * requests) and exits 1 on any answer ≥ 500, request left unanswered, refusal that is not problem+json,
 * refusal that changed the database, or service process that died.
 */
function option(args: readonly string[], name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} needs a whole number`);
  return value;
}

const args = process.argv.slice(2);
const runs = option(args, 'runs', 1_000);
const seed = option(args, 'seed', Date.now() % 2 ** 31);
const databaseUrl = process.env.FUZZ_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/oms_fuzz';
const log = (line: string) => console.log(line);

log(`fuzz: starting the API, the PSP and the carrier sandboxes on ${databaseUrl.replace(/\/\/[^@]*@/, '//')}`);
const system = await startFuzzSystem(databaseUrl, log);
let failed: boolean;
try {
  const report = await runFuzz(system, { runs, seed, verbose: args.includes('--verbose'), log });
  failed = report.violations.length > 0;
  if (failed) log(`fuzz: FAILED; replay with: npm run fuzz -- --runs ${runs} --seed ${seed}`);
} finally {
  await system.stop();
}
process.exit(failed ? 1 : 0);
