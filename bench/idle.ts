import { setTimeout as sleep } from 'node:timers/promises';
import { cpuBetween, cpuSnapshot, say, startBenchSystem } from './support.js';

/** Aim of issue 10: the whole system, started and doing nothing, uses at most 3 % of one core. */
const AIM_PERCENT = 3;

/**
 * `npm run bench -- idle`: starts the whole system as `npm start` runs it, lets it settle for
 * `warmup` seconds, then measures for `seconds` the CPU each process uses while no order comes in,
 * as a percentage of one core.
 */
export async function benchIdle(options: { seconds: number; warmup: number }): Promise<void> {
  const system = await startBenchSystem('idle');
  try {
    say(`settling for ${options.warmup} s`);
    await sleep(options.warmup * 1000);
    say(`measuring for ${options.seconds} s with no load`);
    const before = cpuSnapshot();
    const startedAt = performance.now();
    for (let done = 0; done < options.seconds;) {
      const step = Math.min(10, options.seconds - done);
      await sleep(step * 1000);
      done += step;
      say(`${done} s of ${options.seconds}`);
    }
    const elapsedMs = performance.now() - startedAt;
    const used = cpuBetween(before, cpuSnapshot());
    used.delete('load generator (bench)');
    const rows = [...used].filter(([, ms]) => ms > 0).sort((a, b) => b[1] - a[1]);
    const percent = (ms: number) => (100 * ms) / elapsedMs;
    const infrastructure = new Set(['postgresql', 'redis', 'kafka']);
    const ours = rows.filter(([name]) => !infrastructure.has(name)).reduce((sum, [, ms]) => sum + ms, 0);
    const all = rows.reduce((sum, [, ms]) => sum + ms, 0);
    console.log(
      `\nidle benchmark — the whole system, no orders, ${(elapsedMs / 1000).toFixed(0)} s after ${options.warmup} s settling`,
    );
    for (const [name, ms] of rows) console.log(`  ${name.padEnd(32)} ${percent(ms).toFixed(2)} % of a core`);
    console.log(`  ${'our processes'.padEnd(32)} ${percent(ours).toFixed(2)} % of a core`);
    console.log(`  ${'everything (with PG, Redis, Kafka)'.padEnd(32)} ${percent(all).toFixed(2)} % of a core`);
    console.log(`  aim: ≤ ${AIM_PERCENT} % of a core for the whole system: ${percent(all) <= AIM_PERCENT ? 'met' : 'not met'}`);
  } finally {
    await system.stop();
  }
}
