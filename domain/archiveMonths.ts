/**
 * The calendar of retention and archiving (issue 15), pure: UTC months as `YYYY-MM`, the order ids a
 * month holds (order ids are UUIDv7, whose first 48 bits are their creation time in milliseconds, and
 * both `orders` and `order_events` are partitioned by that time: migration 0018), which months the
 * retention lets `npm run archive` take, and how an archive's manifest is compared with what a database
 * or a file holds.
 */

/** A UTC month, `YYYY-MM`. */
export type Month = string & { readonly __month: unique symbol };

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** `YYYY-MM` from year 1970 on (UUIDv7 times start there), or undefined. */
export function parseMonth(text: string): Month | undefined {
  const match = MONTH.exec(text);
  if (match === null || Number(match[1]) < 1970) return undefined;
  return text as Month;
}

function parts(month: Month): [year: number, monthIndex: number] {
  return [Number(month.slice(0, 4)), Number(month.slice(5, 7)) - 1];
}

/** The month of a moment, in UTC. */
export function monthOf(at: Date): Month {
  return `${at.getUTCFullYear().toString().padStart(4, '0')}-${String(at.getUTCMonth() + 1).padStart(2, '0')}` as Month;
}

/** The month `count` months after (before, when negative) `month`. */
export function addMonths(month: Month, count: number): Month {
  const [year, index] = parts(month);
  return monthOf(new Date(Date.UTC(year, index + count, 1)));
}

/** The first instant of the month, UTC. */
export function monthStart(month: Month): Date {
  const [year, index] = parts(month);
  return new Date(Date.UTC(year, index, 1));
}

/** The smallest UUIDv7 of a moment: its millisecond in the first 48 bits, every other bit zero (SQL's uuid7_floor). */
export function uuid7Floor(at: Date): string {
  const hex = Math.floor(at.getTime()).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}

/** The order ids of a month: from (inclusive) to (exclusive), as its partitions' bounds say. */
export function orderIdRange(month: Month): { readonly from: string; readonly to: string } {
  return { from: uuid7Floor(monthStart(month)), to: uuid7Floor(monthStart(addMonths(month, 1))) };
}

/** The month an order was placed in, from its UUIDv7 id. */
export function monthOfOrderId(orderId: string): Month {
  return monthOf(new Date(parseInt(orderId.replace(/-/g, '').slice(0, 12), 16)));
}

/** The partitions a month's orders and events live in. */
export function partitionsOf(month: Month): { readonly orders: string; readonly events: string } {
  const suffix = `y${month.slice(0, 4)}m${month.slice(5, 7)}`;
  return { orders: `orders_${suffix}`, events: `order_events_${suffix}` };
}

/** The month of a partition name (`orders_y2024m11`, `order_events_y2024m11`), or undefined. */
export function monthOfPartition(name: string): Month | undefined {
  const match = /^(?:orders|order_events)_y(\d{4})m(\d{2})$/.exec(name);
  return match === null ? undefined : parseMonth(`${match[1]}-${match[2]}`);
}

/**
 * The first month the retention keeps in the database: orders stay `hotMonths` calendar months, this
 * month included (24: this month and the 23 before it); the months before may be archived.
 */
export function firstHotMonth(now: Date, hotMonths: number): Month {
  return addMonths(monthOf(now), -(hotMonths - 1));
}

/**
 * Which of `candidates` (months that have partitions) an archive `--before` takes: those before it, oldest
 * first. A `before` later than the first hot month is refused, naming the retention.
 */
export function monthsToArchive(
  candidates: readonly Month[],
  before: Month,
  now: Date,
  hotMonths: number,
): { readonly months: readonly Month[] } | { readonly refused: string } {
  const hot = firstHotMonth(now, hotMonths);
  if (before > hot)
    return {
      refused: `--before ${before} would archive months the retention keeps in the database: orders stay ${hotMonths} months (ORDER_HOT_MONTHS), so ${hot} is the latest --before allowed today`,
    };
  return { months: [...new Set(candidates)].filter((m) => m < before).sort() };
}

/** Until when a month's archive must be kept: the end of the month plus the event retention. */
export function keepUntil(month: Month, retentionYears: number): string {
  return monthStart(addMonths(month, 1 + 12 * retentionYears))
    .toISOString()
    .slice(0, 10);
}

/** One table of a month's archive, as the manifest describes it. */
export interface ArchivedTable {
  readonly table: string;
  readonly file: string;
  readonly rows: number;
  /** Hex SHA-256 of the uncompressed file: one JSON row per line, in key order, each line ending in \n. */
  readonly contentSha256: string;
  /** Hex SHA-256 of the compressed file as stored. */
  readonly fileSha256: string;
}

/** The month's hash chains: what proves its event history. */
export interface ChainSummary {
  /** Orders with events. */
  readonly orders: number;
  readonly events: number;
  /** SHA-256 over every event hash, orders in id order, events in seq order. */
  readonly eventsSha256: string;
  /** SHA-256 over each order's last event hash (its chain's head), in order id order. */
  readonly headsSha256: string;
}

export interface ArchiveManifest {
  readonly format: 'oms-archive/1';
  readonly month: Month;
  readonly orderIdFrom: string;
  readonly orderIdTo: string;
  readonly archivedAt: string;
  readonly keepUntil: string;
  /** The last migration of the schema the rows were written under. */
  readonly schemaVersion: string;
  readonly tables: readonly ArchivedTable[];
  readonly chain: ChainSummary;
  /**
   * The UTC days the month's events happened on, with their counts: a daily anchor (the hash over every
   * event of a day) of such a day can no longer be recomputed from the database alone.
   */
  readonly eventDays: readonly { readonly day: string; readonly events: number }[];
}

/** What a table or chain holds now (a database after restore, or a file read back). */
export interface Observed {
  readonly tables: ReadonlyMap<string, { readonly rows: number; readonly contentSha256: string; readonly fileSha256?: string }>;
  readonly chain?: ChainSummary;
}

/** Every difference between a manifest and what was observed, as sentences; none: they agree. */
export function manifestDifferences(manifest: ArchiveManifest, observed: Observed): string[] {
  const differences: string[] = [];
  for (const table of manifest.tables) {
    const seen = observed.tables.get(table.table);
    if (seen === undefined) {
      differences.push(`${table.table}: not found`);
      continue;
    }
    if (seen.rows !== table.rows) differences.push(`${table.table}: ${seen.rows} rows, the manifest says ${table.rows}`);
    else if (seen.contentSha256 !== table.contentSha256)
      differences.push(`${table.table}: the rows differ from the archived ones (content SHA-256 ${seen.contentSha256})`);
    if (seen.fileSha256 !== undefined && seen.fileSha256 !== table.fileSha256)
      differences.push(`${table.file}: file SHA-256 ${seen.fileSha256}, the manifest says ${table.fileSha256}`);
  }
  for (const name of observed.tables.keys())
    if (!manifest.tables.some((t) => t.table === name)) differences.push(`${name}: not in the manifest`);
  if (observed.chain !== undefined) {
    const [want, got] = [manifest.chain, observed.chain];
    if (want.orders !== got.orders || want.events !== got.events)
      differences.push(
        `chains: ${got.orders} orders with ${got.events} events, the manifest says ${want.orders} with ${want.events}`,
      );
    if (want.eventsSha256 !== got.eventsSha256) differences.push('chains: the event hashes differ from the archived ones');
    if (want.headsSha256 !== got.headsSha256) differences.push("chains: the orders' last hashes differ from the archived ones");
  }
  return differences;
}
