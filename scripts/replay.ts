import { loadConfig } from '../platform/config.js';
import { poolFromConfig, type Pool } from '../platform/db.js';
import { isUuid } from '../platform/ids.js';
import {
  compareWithLive,
  createViewTable,
  orderAsOf,
  rebuildInto,
  switchOver,
  type RebuildProgress,
} from '../query-service/projections/orderView/rebuild.js';

/** The read models the tool knows; one today. */
export const PROJECTIONS = Object.freeze(['order_view'] as const);

const USAGE = `usage: npm run replay -- --projection order_view | --all      rebuild from order_events and switch over
       npm run replay -- --verify [--projection order_view]      rebuild aside and report differences (exit 1 on any)
       npm run replay -- --order <order_id> --as-of <ISO time>   the order as it was at that moment`;

function progressBar(label: string): (p: RebuildProgress) => void {
  const started = performance.now();
  let shown = 0;
  return ({ events, total, orders }) => {
    // At most four redraws a second, and always the last one.
    if (events < total && performance.now() - shown < 250) return;
    shown = performance.now();
    const share = total === 0 ? 1 : Math.min(1, events / total);
    const width = 30;
    const filled = Math.round(share * width);
    const rate = events / Math.max(0.001, (performance.now() - started) / 1000);
    process.stderr.write(
      `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${events}/${total} events, ${orders} orders, ${Math.round(rate)} events/s`,
    );
  };
}

export async function rebuild(pool: Pool, say: (line: string) => void): Promise<{ events: number; seconds: number }> {
  const started = performance.now();
  const table = await createViewTable(pool, 'rebuild');
  try {
    const result = await rebuildInto(pool, table, progressBar('order_view'));
    process.stderr.write('\n');
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

export async function verify(pool: Pool, say: (line: string) => void): Promise<number> {
  const table = await createViewTable(pool, 'verify');
  try {
    await rebuildInto(pool, table, progressBar('verify order_view'));
    process.stderr.write('\n');
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
  const has = (flag: string) => argv.includes(flag);
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const projection = value('--projection');
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
    if (has('--order')) {
      const orderId = value('--order') ?? '';
      const asOf = new Date(value('--as-of') ?? '');
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
    if (has('--verify')) return (await verify(pool, say)) === 0 ? 0 : 1;
    if (has('--all') || projection !== undefined) {
      await rebuild(pool, say);
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
