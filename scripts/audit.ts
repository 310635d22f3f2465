import { readFileSync } from 'node:fs';
import { loadConfig } from '../platform/config.js';
import { createPool, type Pool } from '../platform/db.js';
import { isUuid } from '../platform/ids.js';
import { parseMoment } from '../platform/moments.js';
import { archivedMonths } from '../store/archive.js';
import { anchorDay, computeAnchor, storedAnchors, unanchoredDays, verifyChainPage, type BrokenLink } from '../store/audit.js';
import { parseCommandLine, progressLine, stopped } from './cli.js';

const USAGE = `usage: npm run audit -- verify [--order <order_id>] [--since <date>]   check every order's hash chain; exit 1 naming each broken link
       npm run audit -- anchor [--day YYYY-MM-DD]                         anchor the days before today not yet anchored (or one day)
       npm run audit -- anchors [--copy <file>]                           recompute every stored anchor, and compare with a copy kept elsewhere
                                                                          (JSON lines as published on order-events: {"day","events","hash"})
       npm run audit -- --help`;

const OPTIONS = {
  order: { type: 'string' },
  since: { type: 'string' },
  day: { type: 'string' },
  copy: { type: 'string' },
} as const;

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** Walks every chain (or one order's) a page of orders at a time; answers the broken links. */
export async function verifyChains(
  pool: Pool,
  options: { orderId?: string; since?: Date; beforeOrderId?: string; afterOrderId?: string },
  say: (line: string) => void,
): Promise<{ orders: number; events: number; broken: BrokenLink[] }> {
  const line = progressLine();
  const broken: BrokenLink[] = [];
  let orders = 0;
  let events = 0;
  let after = options.afterOrderId ?? ZERO_UUID;
  for (;;) {
    const page = await verifyChainPage(pool, { ...options, afterOrderId: after, pageSize: 1_000 });
    orders += page.orders;
    events += page.events;
    broken.push(...page.broken);
    for (const b of page.broken)
      say(`BROKEN order ${b.orderId} seq ${b.seq}${b.eventId ? ` (event ${b.eventId})` : ''}: ${b.kind} — ${b.detail}`);
    line.update(
      `audit: ${orders} orders, ${events} events checked, ${broken.length} broken link(s)`,
      page.lastOrderId === undefined,
    );
    if (page.lastOrderId === undefined) break;
    after = page.lastOrderId;
  }
  line.done();
  return { orders, events, broken };
}

const today = () => new Date().toISOString().slice(0, 10);

/** The tool; `given` is a pool to use instead of the owner's connection from the configuration (tests). */
export async function main(
  argv: readonly string[],
  say: (line: string) => void = (l) => console.log(`audit: ${l}`),
  given?: Pool,
): Promise<number> {
  const parsed = parseCommandLine('audit', argv, OPTIONS, USAGE);
  if (stopped(parsed)) return parsed.exitCode;
  const [command] = parsed.positionals;
  const { order, since, day, copy } = parsed.values;
  const fail = (why: string) => {
    console.error(`audit: ${why}\n${USAGE}`);
    return 2;
  };
  if (order !== undefined && !isUuid(order)) return fail('--order must be an order id');
  const sinceAt = since === undefined ? undefined : parseMoment(since.length === 10 ? `${since}T00:00:00Z` : since);
  if (since !== undefined && sinceAt === undefined) return fail('--since must be a date (YYYY-MM-DD) or an RFC 3339 time');
  if (day !== undefined && (!/^\d{4}-\d{2}-\d{2}$/.test(day) || parseMoment(`${day}T00:00:00Z`) === undefined))
    return fail('--day must be YYYY-MM-DD');
  if (command !== 'verify' && command !== 'anchor' && command !== 'anchors')
    return fail(command === undefined ? 'no command' : `unknown command ${command}`);

  const config = loadConfig();
  // The owner's connection: an auditor reads everything, and anchors are written next to the log.
  const pool =
    given ??
    createPool({
      databaseUrl: config.migrationDatabaseUrl,
      schema: config.databaseSchema,
      max: 2,
      applicationName: 'audit',
    });
  try {
    if (command === 'verify') {
      const result = await verifyChains(
        pool,
        { ...(order === undefined ? {} : { orderId: order.toLowerCase() }), ...(sinceAt ? { since: sinceAt } : {}) },
        say,
      );
      say(
        result.broken.length === 0
          ? `every chain intact: ${result.orders} orders, ${result.events} events`
          : `${result.broken.length} broken link(s) in ${new Set(result.broken.map((b) => b.orderId)).size} order(s) of ${result.orders} checked (${result.events} events)`,
      );
      return result.broken.length === 0 ? 0 : 1;
    }
    if (command === 'anchor') {
      const days = day === undefined ? await unanchoredDays(pool, today()) : [day];
      if (days.length === 0) say('no day to anchor: every day before today with events is anchored');
      for (const d of days) {
        const { anchor, created } = await anchorDay(pool, d);
        say(`${created ? 'anchored' : 'already anchored'} ${anchor.day}: ${anchor.events} events, ${anchor.hash}`);
      }
      return 0;
    }
    const copies = new Map<string, { events: number; hash: string }>();
    if (copy !== undefined) {
      for (const text of readFileSync(copy, 'utf8')
        .split('\n')
        .filter((l) => l.trim().length > 0)) {
        const entry = JSON.parse(text) as {
          day?: string;
          events?: number;
          hash?: string;
          payload?: { day?: string; events?: number; hash?: string };
        };
        const a = entry.payload ?? entry;
        if (typeof a.day === 'string' && typeof a.hash === 'string') copies.set(a.day, { events: a.events ?? -1, hash: a.hash });
      }
    }
    let mismatches = 0;
    let unverifiable = 0;
    // Days some of whose events are in an archived month's files: the database alone no longer gives their anchor.
    const archivedDays = new Map<string, string[]>();
    for (const m of await archivedMonths(pool))
      for (const d of m.manifest.eventDays ?? [])
        archivedDays.set(d.day, [...(archivedDays.get(d.day) ?? []), `${m.month} (${d.events} events)`]);
    const anchors = await storedAnchors(pool);
    for (const stored of anchors) {
      const now = await computeAnchor(pool, stored.day);
      const kept = copies.get(stored.day);
      const problems = [
        ...(now.hash !== stored.hash || now.events !== stored.events
          ? [`the log now gives ${now.events} events, ${now.hash}`]
          : []),
        ...(kept !== undefined && (kept.hash !== stored.hash || kept.events !== stored.events)
          ? [`the copy says ${kept.events} events, ${kept.hash}`]
          : []),
      ];
      const archived = archivedDays.get(stored.day);
      if (
        archived !== undefined &&
        problems.length > 0 &&
        (kept === undefined || (kept.hash === stored.hash && kept.events === stored.events))
      ) {
        unverifiable++;
        say(
          `${stored.day}: ${stored.events} events, ${stored.hash} partly archived in ${archived.join(', ')}: restore the month(s) to check it (npm run archive -- restore)`,
        );
        continue;
      }
      if (problems.length > 0) mismatches++;
      say(
        `${stored.day}: ${stored.events} events, ${stored.hash} ${problems.length === 0 ? 'holds' : `DIFFERS: ${problems.join('; ')}`}`,
      );
    }
    for (const d of copies.keys())
      if (!anchors.some((a) => a.day === d)) {
        mismatches++;
        say(`${d}: in the copy but not in audit_anchors (removed?)`);
      }
    const archivedNote = unverifiable === 0 ? '' : `, ${unverifiable} not checkable while their months are archived`;
    say(
      mismatches === 0
        ? `${anchors.length - unverifiable} anchor(s) hold${archivedNote}`
        : `${mismatches} anchor(s) differ${archivedNote}`,
    );
    return mismatches === 0 ? 0 : 1;
  } finally {
    if (given === undefined) await pool.end();
  }
}

if (process.argv[1]?.endsWith('audit.js')) {
  process.exitCode = await main(process.argv.slice(2));
}
