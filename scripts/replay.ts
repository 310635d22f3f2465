import { loadConfig } from '../platform/config.js';
import { poolFromConfig, type Pool } from '../platform/db.js';
import { isUuid } from '../platform/ids.js';
import { rebuildFunnel } from '../query-service/projections/funnel/funnelStore.js';
import { parseCommandLine, progressLine, stopped } from './cli.js';
import {
  compareWithLive,
  createViewTable,
  orderAsOf,
  rebuildInto,
  switchOver,
  type RebuildProgress,
} from '../query-service/projections/orderView/rebuild.js';

/** The read models the tool knows. */
export const PROJECTIONS = Object.freeze(['order_view', 'order_funnel'] as const);

const USAGE = `usage: npm run replay -- --projection order_view|order_funnel | --all   rebuild from order_events (order_view: aside, then switch over)
       npm run replay -- --verify [--projection order_view]      rebuild aside and report differences (exit 1 on any)
       npm run replay -- --order <order_id> --as-of <ISO time>   the order as it was at that moment
       npm run replay -- --help`;

const OPTIONS = {
  projection: { type: 'string' },
  all: { type: 'boolean' },
  verify: { type: 'boolean' },
  order: { type: 'string' },
  'as-of': { type: 'string' },
} as const;

/** The rebuild's progress: a bar redrawn in place on a terminal, a plain line now and then elsewhere. */
function progressBar(label: string): { update: (p: RebuildProgress) => void; done: () => void } {
  const started = performance.now();
  const line = progressLine();
  return {
    update: ({ events, total, orders }) => {
      const share = total === 0 ? 1 : Math.min(1, events / total);
      const width = 30;
      const filled = Math.round(share * width);
      const rate = events / Math.max(0.001, (performance.now() - started) / 1000);
      line.update(
        `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${events}/${total} events, ${orders} orders, ${Math.round(rate)} events/s`,
        events >= total,
      );
    },
    done: () => line.done(),
  };
}

export async function rebuild(pool: Pool, say: (line: string) => void): Promise<{ events: number; seconds: number }> {
  const started = performance.now();
  const table = await createViewTable(pool, 'rebuild');
  try {
    const progress = progressBar('order_view');
    const result = await rebuildInto(pool, table, progress.update);
    progress.done();
    const { caughtUp } = await switchOver(pool, table);
    const seconds = (performance.now() - started) / 1000;
    say(
      `order_view rebuilt from ${result.events} events into ${result.orders} orders in ${seconds.toFixed(1)} s ` +
        `(${Math.round(result.events / seconds)} events/s); ${caughtUp} order(s) caught up at switch-over; now live`,
    );
    return { events: result.events, seconds };
  } catch (error) {
    await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    throw error;
  }
}

/** The order funnel folded again from the event log, in place (each row is its order's truth). */
export async function rebuildOrderFunnel(pool: Pool, say: (line: string) => void): Promise<number> {
  const started = performance.now();
  const line = progressLine();
  const orders = await rebuildFunnel(pool, (n) => line.update(`order_funnel: ${n} orders folded`));
  line.done();
  say(`order_funnel rebuilt from the event log for ${orders} orders in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return orders;
}

export async function verify(pool: Pool, say: (line: string) => void): Promise<number> {
  const table = await createViewTable(pool, 'verify');
  try {
    const progress = progressBar('verify order_view');
    await rebuildInto(pool, table, progress.update);
    progress.done();
    const differences = await compareWithLive(pool, table);
    for (const d of differences) {
      say(`${d.problem}: order ${d.order_id}`);
      if (d.problem === 'different') say(`  live:     ${JSON.stringify(d.live)}\n  expected: ${JSON.stringify(d.expected)}`);
    }
    say(differences.length === 0 ? 'order_view matches the event log' : `${differences.length} difference(s) in order_view`);
    return differences.length;
  } finally {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCommandLine('replay', argv, OPTIONS, USAGE);
  if (stopped(parsed)) return parsed.exitCode;
  const options = parsed.values;
  const projection = options.projection;
  if (projection !== undefined && !(PROJECTIONS as readonly string[]).includes(projection)) {
    console.error(`replay: unknown projection "${projection}"; known: ${PROJECTIONS.join(', ')}`);
    return 2;
  }
  const config = loadConfig();
  // A rebuild creates, renames and drops tables: the owner's work (the swapped-in table gets the
  // service role's grants from the schema's default privileges, decision 0015).
  const pool = poolFromConfig({ ...config, databaseUrl: config.migrationDatabaseUrl }, 'replay');
  const say = (line: string) => console.log(`replay: ${line}`);
  try {
    if (options.order !== undefined) {
      const orderId = options.order;
      const asOf = new Date(options['as-of'] ?? '');
      if (!isUuid(orderId) || Number.isNaN(asOf.getTime())) {
        console.error(USAGE);
        return 2;
      }
      const view = await orderAsOf(pool, orderId, asOf);
      if (view === undefined) {
        say(`order ${orderId} did not exist at ${asOf.toISOString()}`);
        return 1;
      }
      console.log(JSON.stringify(view, null, 2));
      return 0;
    }
    if (options.verify === true) return (await verify(pool, say)) === 0 ? 0 : 1;
    if (options.all === true || projection !== undefined) {
      if (options.all === true || projection === 'order_view') await rebuild(pool, say);
      if (options.all === true || projection === 'order_funnel') await rebuildOrderFunnel(pool, say);
      return 0;
    }
    console.error(USAGE);
    return 2;
  } finally {
    await pool.end();
  }
}

if (process.argv[1]?.endsWith('replay.js')) {
  process.exitCode = await main(process.argv.slice(2));
}
