import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import {
  firstHotMonth,
  keepUntil,
  manifestDifferences,
  monthStart,
  addMonths,
  monthsToArchive,
  orderIdRange,
  parseMonth,
  partitionsOf,
  type ArchiveManifest,
  type ArchivedTable,
  type ChainSummary,
  type Month,
  type Observed,
} from '../domain/archiveMonths.js';
import { loadConfig, type Config } from '../platform/config.js';
import { createPool, withTransactionOpenedBy, type Pool, type PoolClient } from '../platform/db.js';
import {
  ARCHIVED_TABLES,
  archivedMonths,
  cursorLines,
  digestMonthRows,
  monthChainSummary,
  monthEventDays,
  monthParams,
  monthRowsQuery,
  monthsWithOrders,
  tableExists,
  type ArchivedTableSpec,
} from '../store/archive.js';
import { verifyChains } from './audit.js';
import { parseCommandLine, progressLine, stopped } from './cli.js';

const USAGE = `usage: npm run archive -- [--before YYYY-MM] [--dir <path>]   archive every month before YYYY-MM (default: the months older
                                                                  than ORDER_HOT_MONTHS) to files, verify them, then drop the month
       npm run archive -- restore YYYY-MM [--dir <path>]         bring an archived month back and verify it against its manifest
       npm run archive -- verify YYYY-MM [--dir <path>]          check a month's files against its manifest (the database untouched)
       npm run archive -- list                                   the archived months, where they are and until when to keep them
       npm run archive -- --help

Each month goes to <dir>/YYYY-MM/ (dir: --dir, else ARCHIVE_DIR, default ./archive): one gzip file of JSON lines
per table (orders, order_events, order_items, …: each row as PostgreSQL's to_jsonb gives it, in key order) and
manifest.json (row counts, SHA-256 of each file and of its content, the month's chain summary).`;

const OPTIONS = { before: { type: 'string' }, dir: { type: 'string' } } as const;

/** The owner's pool, the archive directory and the clock: what main takes from the configuration (tests give their own). */
export interface ArchiveContext {
  readonly pool: Pool;
  readonly config: Config;
  readonly now: Date;
  readonly say: (line: string) => void;
}

/** A progress line on a terminal only (a log or a pipe gets the summary lines alone). */
function progress(): ReturnType<typeof progressLine> {
  return process.stderr.isTTY === true ? progressLine() : { update: () => undefined, done: () => undefined };
}

const fileOf = (table: string) => `${table}.jsonl.gz`;

/** What a month's file holds: its rows, the SHA-256 of its content and of its bytes; lines go to `onLines` in batches. */
async function readArchiveFile(
  path: string,
  onLines?: (lines: string[]) => Promise<void>,
  batchSize = 1_000,
): Promise<{ rows: number; contentSha256: string; fileSha256: string; chain?: ChainSummary }> {
  const fileHash = createHash('sha256');
  const contentHash = createHash('sha256');
  const raw = createReadStream(path);
  raw.on('data', (chunk) => fileHash.update(chunk));
  const lines = createInterface({ input: raw.pipe(createGunzip()), crlfDelay: Infinity });
  let rows = 0;
  let batch: string[] = [];
  for await (const line of lines) {
    contentHash.update(`${line}\n`);
    rows++;
    if (onLines !== undefined) {
      batch.push(line);
      if (batch.length >= batchSize) {
        await onLines(batch);
        batch = [];
      }
    }
  }
  if (onLines !== undefined && batch.length > 0) await onLines(batch);
  return { rows, contentSha256: contentHash.digest('hex'), fileSha256: fileHash.digest('hex') };
}

/** The chain summary of an events file, computed from its lines as monthChainSummary computes it in SQL. */
async function chainOfEventsFile(path: string): Promise<ChainSummary> {
  const events = createHash('sha256');
  const heads = createHash('sha256');
  let orders = 0;
  let count = 0;
  let current: string | undefined;
  let last = Buffer.alloc(0);
  await readArchiveFile(path, async (lines) => {
    for (const line of lines) {
      const row = JSON.parse(line) as { order_id: string; hash: string | null };
      const hash = row.hash === null ? Buffer.alloc(0) : Buffer.from(row.hash.replace(/^\\x/, ''), 'hex');
      if (row.order_id !== current) {
        if (current !== undefined) heads.update(last);
        current = row.order_id;
        orders++;
      }
      events.update(hash);
      last = hash;
      count++;
    }
  });
  if (current !== undefined) heads.update(last);
  return { orders, events: count, eventsSha256: events.digest('hex'), headsSha256: heads.digest('hex') };
}

/** Reads every file of a month back and compares it with the manifest: the differences (none: the files hold what it says). */
export async function verifyMonthFiles(directory: string, manifest: ArchiveManifest): Promise<string[]> {
  const tables = new Map<string, { rows: number; contentSha256: string; fileSha256: string }>();
  for (const table of manifest.tables) {
    const path = join(directory, table.file);
    if (!existsSync(path)) return [`${table.file}: missing`];
    tables.set(table.table, await readArchiveFile(path));
  }
  const chain = await chainOfEventsFile(join(directory, fileOf('order_events')));
  return manifestDifferences(manifest, { tables, chain });
}

/** Writes one table's rows of a month to its gzip file: rows, SHA-256 of the content and of the file. */
async function exportTable(
  tx: PoolClient,
  spec: ArchivedTableSpec,
  month: Month,
  directory: string,
  onRows: (rows: number) => void,
): Promise<ArchivedTable> {
  const contentHash = createHash('sha256');
  let rows = 0;
  const path = join(directory, fileOf(spec.table));
  await pipeline(
    async function* () {
      for await (const lines of cursorLines(tx, monthRowsQuery(spec, month), monthParams(month))) {
        const text = lines.map((l) => `${l}\n`).join('');
        contentHash.update(text);
        rows += lines.length;
        onRows(rows);
        yield text;
      }
    },
    createGzip(),
    createWriteStream(path),
  );
  const fileHash = createHash('sha256');
  for await (const chunk of createReadStream(path)) fileHash.update(chunk as Buffer);
  return {
    table: spec.table,
    file: fileOf(spec.table),
    rows,
    contentSha256: contentHash.digest('hex'),
    fileSha256: fileHash.digest('hex'),
  };
}

const UTC = "SET LOCAL TIME ZONE 'UTC'";
const LOCK_TIMEOUT_MS = 5_000;

/** Runs `fn` in a transaction waiting at most 5 s for each lock; a lock not had in time is tried again, a few times. */
async function briefLocks<T>(pool: Pool, fn: (tx: PoolClient) => Promise<T>, say: (line: string) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransactionOpenedBy(pool, `${UTC}; SET LOCAL lock_timeout = ${LOCK_TIMEOUT_MS}`, (tx) => fn(tx));
    } catch (error) {
      if ((error as { code?: string }).code !== '55P03' || attempt >= 5) throw error;
      say(`a lock was busy for ${LOCK_TIMEOUT_MS} ms (attempt ${attempt}); trying again`);
    }
  }
}

/** Rows of a partition can no longer be added or changed: a check no row passes, not validated against the rows there. */
async function freeze(pool: Pool, partition: string, say: (line: string) => void): Promise<void> {
  await briefLocks(pool, (tx) => tx.query(`ALTER TABLE ${partition} ADD CONSTRAINT archive_frozen CHECK (false) NOT VALID`), say);
}

async function unfreeze(pool: Pool, partition: string, say: (line: string) => void): Promise<void> {
  await briefLocks(pool, (tx) => tx.query(`ALTER TABLE IF EXISTS ${partition} DROP CONSTRAINT IF EXISTS archive_frozen`), say);
}

/** Detaches and drops an events partition whose orders are gone (the last step of an archive). */
async function dropEventsPartition(pool: Pool, partition: string, say: (line: string) => void): Promise<void> {
  await briefLocks(
    pool,
    async (tx) => {
      await tx.query(`ALTER TABLE order_events DETACH PARTITION ${partition}`);
      await tx.query(`DROP TABLE ${partition}`);
      // Its chain trigger's function (migration 0018: one per partition) goes with it.
      await tx.query(`DROP FUNCTION IF EXISTS ${partition}_chain()`);
    },
    say,
  );
}

/**
 * Archives one month: freezes its two partitions (no order of the month may change while it is
 * archived), writes the files and the manifest from one snapshot, reads them back against it, then
 * takes the month out of the database. Each step holds one table's lock at a time, each lock waited for
 * 5 s at most, so it never deadlocks with the orders that keep flowing.
 */
async function archiveMonth(context: ArchiveContext, month: Month, root: string): Promise<'archived' | 'skipped'> {
  const { pool, config, say } = context;
  const { orders: ordersPartition, events: eventsPartition } = partitionsOf(month);
  // A month has partitions of its own, or (it never had any) its rows sit in the default partitions.
  const ownPartitions = await tableExists(pool, ordersPartition);
  if (!ownPartitions) {
    const recorded = (await archivedMonths(pool)).some((m) => m.month === month);
    if (recorded && (await tableExists(pool, eventsPartition))) {
      // A run stopped between its last two steps: the orders are archived, their events go now.
      await dropEventsPartition(pool, eventsPartition, say);
      say(`${month}: archived already; its events' partition, left behind by an interrupted run, is dropped now`);
      return 'archived';
    }
    const { rows } = await pool.query<{ any: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM orders WHERE order_id >= $1::uuid AND order_id < $2::uuid) AS any',
      monthParams(month),
    );
    if (rows[0]?.any !== true) {
      say(`${month}: no orders in the database (archived already, or none placed): skipped`);
      return 'skipped';
    }
  } else if (!(await tableExists(pool, eventsPartition)))
    throw new Error(`${month}: ${eventsPartition} is missing (migration 0018 creates it)`);
  const busy = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM sagas WHERE order_id >= $1::uuid AND order_id < $2::uuid AND status IN ('running', 'compensating')`,
    monthParams(month),
  );
  if ((busy.rows[0]?.n ?? 0) > 0)
    throw new Error(`${month}: ${busy.rows[0]?.n} saga(s) of its orders still run; archive it once they are finished`);

  const directory = join(root, month);
  const partial = join(root, `${month}.partial`);
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  let removed = false;
  try {
    if (ownPartitions) {
      await freeze(pool, ordersPartition, say);
      await freeze(pool, eventsPartition, say);
    }

    // 1. The month's rows in one snapshot, table by table, to gzip files.
    const line = progress();
    const manifest = await withTransactionOpenedBy(
      pool,
      `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; ${UTC}`,
      async (tx) => {
        const tables: ArchivedTable[] = [];
        for (const spec of ARCHIVED_TABLES)
          tables.push(
            await exportTable(tx, spec, month, partial, (rows) => line.update(`archive ${month}: ${spec.table} ${rows} rows`)),
          );
        const chain = await monthChainSummary(tx, month);
        const { rows } = await tx.query<{ name: string }>('SELECT name FROM knex_migrations ORDER BY id DESC LIMIT 1');
        const range = orderIdRange(month);
        const written: ArchiveManifest = {
          format: 'oms-archive/1',
          month,
          orderIdFrom: range.from,
          orderIdTo: range.to,
          archivedAt: context.now.toISOString(),
          keepUntil: keepUntil(month, config.eventRetentionYears),
          schemaVersion: rows[0]?.name ?? 'unknown',
          tables,
          chain,
          eventDays: await monthEventDays(tx, month),
        };
        return written;
      },
    );
    line.done();
    await writeFile(join(partial, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

    // 2. The files read back must hold exactly that.
    const differences = await verifyMonthFiles(partial, manifest);
    if (differences.length > 0)
      throw new Error(`${month}: the files written do not match what was read (left in ${partial}): ${differences.join('; ')}`);
    await rm(directory, { recursive: true, force: true });
    await rename(partial, directory);

    // 3. The order rows out, checked first to be still the archived ones (the partitions are frozen; the
    // other tables are not, so their rows are locked, compared and deleted in the same transaction), then
    // the orders' partition detached: its lock is the last one taken, so nothing waits on us meanwhile.
    await briefLocks(
      pool,
      async (tx) => {
        for (const spec of [...ARCHIVED_TABLES].reverse()) {
          const partitioned = spec.table === 'orders' || spec.table === 'order_events';
          // The month's own partitions are frozen and go whole; rows in the default partitions go one by one.
          if (partitioned && ownPartitions) continue;
          if (spec.table === 'order_events') await tx.query('LOCK TABLE order_events_default IN SHARE ROW EXCLUSIVE MODE');
          const now = await digestMonthRows(tx, spec, month, { lock: spec.table !== 'order_events' });
          const expected = manifest.tables.find((t) => t.table === spec.table);
          if (expected === undefined || expected.contentSha256 !== now.contentSha256 || expected.rows !== now.rows)
            throw new Error(`${month}: ${spec.table} changed since it was written to ${directory}; run the archive again`);
          if (spec.table === 'order_events') {
            // The owner removes archived events from the default partition past its append-only trigger, in this transaction only.
            await tx.query('ALTER TABLE order_events_default DISABLE TRIGGER order_events_append_only');
            await tx.query(`DELETE FROM order_events_default WHERE ${spec.where}`, monthParams(month));
            await tx.query('ALTER TABLE order_events_default ENABLE TRIGGER order_events_append_only');
          } else await tx.query(`DELETE FROM ${spec.table} WHERE ${spec.where}`, monthParams(month));
        }
        if (ownPartitions) {
          await tx.query(`ALTER TABLE orders DETACH PARTITION ${ordersPartition}`);
          await tx.query(`DROP TABLE ${ordersPartition}`);
        }
        await tx.query(`INSERT INTO archived_months (month, location, manifest) VALUES ($1::date, $2, $3)`, [
          monthStart(month).toISOString().slice(0, 10),
          resolve(directory),
          JSON.stringify(manifest),
        ]);
      },
      say,
    );
    removed = true;
    // 4. Its events, in a transaction of their own (a writer holding order_events and waiting for orders
    // would otherwise wait on us while we wait on it).
    if (ownPartitions) await dropEventsPartition(pool, eventsPartition, say);
    const total = manifest.tables.reduce((sum, t) => sum + t.rows, 0);
    say(
      `${month}: archived to ${directory} — ${manifest.tables[0]?.rows ?? 0} orders, ${manifest.chain.events} events, ${total} rows in all; keep until ${manifest.keepUntil}`,
    );
    return 'archived';
  } finally {
    if (!removed && ownPartitions) {
      await unfreeze(pool, ordersPartition, say).catch(() => undefined);
      await unfreeze(pool, eventsPartition, say).catch(() => undefined);
    }
  }
}

/** Loads JSON lines into a table by its columns (those the lines name; the others take their defaults). */
async function insertLines(tx: PoolClient, table: string, lines: readonly string[]): Promise<void> {
  const first = lines[0];
  if (first === undefined) return;
  const columns = Object.keys(JSON.parse(first) as Record<string, unknown>)
    .map((c) => `"${c.replace(/"/g, '""')}"`)
    .join(', ');
  await tx.query(`INSERT INTO ${table} (${columns}) SELECT ${columns} FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb)`, [
    `[${lines.join(',')}]`,
  ]);
}

/** What a month's partition table (attached or not) holds: exactly the archived rows, nothing (while rows were archived), or other rows. */
async function partitionHolds(
  pool: Pool,
  spec: ArchivedTableSpec,
  table: string,
  month: Month,
  manifest: ArchiveManifest,
): Promise<'archived rows' | 'nothing' | 'other rows'> {
  return withTransactionOpenedBy(pool, UTC, async (tx) => {
    const now = await digestMonthRows(tx, { ...spec, from: () => table }, month);
    const archived = manifest.tables.find((t) => t.table === spec.table);
    if (archived !== undefined && archived.rows === now.rows && archived.contentSha256 === now.contentSha256)
      return 'archived rows';
    return now.rows === 0 ? 'nothing' : 'other rows';
  });
}

/** Whether a table is attached as a partition of `parent`. */
async function attached(pool: Pool, name: string): Promise<boolean> {
  const { rows } = await pool.query<{ yes: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(quote_ident(current_schema()) || '.' || $1)) AS yes`,
    [name],
  );
  return rows[0]?.yes === true;
}

/**
 * Brings a month back from its files: its two partitions loaded as tables of their own (no trigger
 * recomputes a hash: rows come back as they were) and checked against the manifest, attached one at a
 * time (brief locks, as in archiving), then the other tables' rows, checked before the transaction that
 * adds them commits. A run stopped half way is resumed by running it again.
 */
async function restoreMonth(context: ArchiveContext, month: Month, root: string): Promise<number> {
  const { pool, say } = context;
  const directory = join(root, month);
  const manifestPath = join(directory, 'manifest.json');
  if (!existsSync(manifestPath)) throw new Error(`${month}: no archive at ${directory} (manifest.json missing)`);
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as ArchiveManifest;
  if (manifest.format !== 'oms-archive/1' || manifest.month !== month)
    throw new Error(`${manifestPath}: not the manifest of ${month} in format oms-archive/1`);
  const damaged = await verifyMonthFiles(directory, manifest);
  if (damaged.length > 0) throw new Error(`${month}: the files do not match their manifest: ${damaged.join('; ')}`);

  const partitions = partitionsOf(month);
  const range = orderIdRange(month);
  const bounds = {
    orders: `FROM ('${monthStart(month).toISOString()}') TO ('${monthStart(addMonths(month, 1)).toISOString()}')`,
    order_events: `FROM ('${range.from}') TO ('${range.to}')`,
  };
  const line = progress();
  const load = async (tx: PoolClient, spec: ArchivedTableSpec, target: string) => {
    let loaded = 0;
    await readArchiveFile(join(directory, fileOf(spec.table)), async (lines) => {
      await insertLines(tx, target, lines);
      loaded += lines.length;
      line.update(`restore ${month}: ${spec.table} ${loaded} rows`);
    });
  };

  for (const spec of ARCHIVED_TABLES.slice(0, 2)) {
    const parent = spec.table as 'orders' | 'order_events';
    const name = parent === 'orders' ? partitions.orders : partitions.events;
    if (await tableExists(pool, name)) {
      const holds = await partitionHolds(pool, spec, name, month, manifest);
      if (holds === 'other rows')
        throw new Error(`${month}: ${name} holds rows other than the archived ones: the month is in the database already`);
      if (holds === 'nothing') {
        // An empty partition made meanwhile (ensure_order_partitions for an old month) gives way.
        await briefLocks(
          pool,
          async (tx) => {
            if (await attached(pool, name)) await tx.query(`ALTER TABLE ${parent} DETACH PARTITION ${name}`);
            await tx.query(`DROP TABLE ${name}`);
          },
          say,
        );
      }
    }
    if (!(await tableExists(pool, name))) {
      await withTransactionOpenedBy(pool, UTC, async (tx) => {
        await tx.query(`CREATE TABLE ${name} (LIKE ${parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
        await load(tx, { ...spec, from: () => name }, name);
      });
      if ((await partitionHolds(pool, spec, name, month, manifest)) !== 'archived rows')
        throw new Error(`${month}: ${name} as loaded differs from the manifest (left unattached for inspection)`);
    }
    if (!(await attached(pool, name)))
      await briefLocks(
        pool,
        async (tx) => {
          await tx.query(`ALTER TABLE ${parent} ATTACH PARTITION ${name} FOR VALUES ${bounds[parent]}`);
          if (parent === 'order_events') {
            // As ensure_order_partitions does: no role but the owner may change or remove the log.
            const { rows } = await tx.query<{ grantee: string }>(
              `SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee
                 FROM pg_class c, aclexplode(c.relacl) a
                WHERE c.oid = to_regclass(quote_ident(current_schema()) || '.' || $1) AND a.grantee <> c.relowner`,
              [name],
            );
            for (const { grantee } of rows) await tx.query(`REVOKE UPDATE, DELETE, TRUNCATE ON ${name} FROM ${grantee}`);
          }
        },
        say,
      );
    // The chain trigger, once the rows are in (no hash was recomputed): appends to the month chain on.
    if (parent === 'order_events')
      await briefLocks(pool, (tx) => tx.query('SELECT chain_order_events_partition($1)', [name]), say);
  }

  await briefLocks(
    pool,
    async (tx) => {
      for (const spec of ARCHIVED_TABLES.slice(2)) await load(tx, spec, spec.table);
      line.done();
      const tables = new Map<string, { rows: number; contentSha256: string }>();
      for (const spec of ARCHIVED_TABLES) tables.set(spec.table, await digestMonthRows(tx, spec, month));
      const observed: Observed = { tables, chain: await monthChainSummary(tx, month) };
      const differences = manifestDifferences(manifest, observed);
      if (differences.length > 0) throw new Error(`${month}: restored rows differ from the manifest: ${differences.join('; ')}`);
      await tx.query('DELETE FROM archived_months WHERE month = $1::date', [monthStart(month).toISOString().slice(0, 10)]);
    },
    say,
  );
  say(`${month}: restored from ${directory} — every table's rows and the chain summary equal the manifest`);
  const audit = await verifyChains(pool, { afterOrderId: range.from, beforeOrderId: range.to }, (l) => say(l));
  say(
    audit.broken.length === 0
      ? `${month}: every chain intact (${audit.orders} orders, ${audit.events} events)`
      : `${month}: ${audit.broken.length} broken link(s), as archived: the month came back as it was`,
  );
  return audit.broken.length === 0 ? 0 : 1;
}

/** The tool; `given` replaces the owner's pool, the configuration and the clock (tests). */
export async function main(
  argv: readonly string[],
  say: (line: string) => void = (l) => console.log(`archive: ${l}`),
  given?: { pool: Pool; config?: Config; now?: Date },
): Promise<number> {
  const parsed = parseCommandLine('archive', argv, OPTIONS, USAGE);
  if (stopped(parsed)) return parsed.exitCode;
  const fail = (why: string) => {
    console.error(`archive: ${why}\n${USAGE}`);
    return 2;
  };
  const [command, monthText, ...rest] = parsed.positionals;
  if (rest.length > 0) return fail(`unexpected ${rest.join(' ')}`);
  if (command !== undefined && command !== 'restore' && command !== 'verify' && command !== 'list')
    return fail(`unknown command ${command}`);
  const month = monthText === undefined ? undefined : parseMonth(monthText);
  if ((command === 'restore' || command === 'verify') && month === undefined)
    return fail(`${command} needs a month, YYYY-MM${monthText === undefined ? '' : ` (got "${monthText}")`}`);
  if (command !== 'restore' && command !== 'verify' && monthText !== undefined) return fail(`unexpected ${monthText}`);
  const before = parsed.values.before === undefined ? undefined : parseMonth(parsed.values.before);
  if (parsed.values.before !== undefined && before === undefined) return fail('--before must be a month, YYYY-MM');
  if (command !== undefined && before !== undefined) return fail(`--before goes with archiving, not ${command}`);

  const config = given?.config ?? loadConfig();
  const root = parsed.values.dir ?? config.archiveDir;
  const now = given?.now ?? new Date();
  const pool =
    given?.pool ??
    createPool({ databaseUrl: config.migrationDatabaseUrl, schema: config.databaseSchema, max: 2, applicationName: 'archive' });
  const context: ArchiveContext = { pool, config, now, say };
  try {
    if (command === 'verify' && month !== undefined) {
      const directory = join(root, month);
      const manifest = JSON.parse(await readFile(join(directory, 'manifest.json'), 'utf8')) as ArchiveManifest;
      const differences = await verifyMonthFiles(directory, manifest);
      for (const d of differences) say(`${month}: ${d}`);
      say(
        differences.length === 0 ? `${month}: every file matches its manifest` : `${month}: ${differences.length} difference(s)`,
      );
      return differences.length === 0 ? 0 : 1;
    }
    if (command === 'restore' && month !== undefined) return await restoreMonth(context, month, root);
    if (command === 'list') {
      const months = await archivedMonths(pool);
      if (months.length === 0) say('no month is archived');
      for (const m of months)
        say(
          `${m.month}: archived ${m.archivedAt} to ${m.location}; ${m.manifest.tables[0]?.rows ?? 0} orders, ${m.manifest.chain.events} events; keep until ${m.manifest.keepUntil}${m.manifest.keepUntil <= now.toISOString().slice(0, 10) ? ' (past EVENT_RETENTION_YEARS: its files may be deleted)' : ''}`,
        );
      return 0;
    }
    const cutoff = before ?? firstHotMonth(now, config.orderHotMonths);
    const present = (await monthsWithOrders(pool, monthStart(cutoff))).map(parseMonth).filter((m): m is Month => m !== undefined);
    const chosen = monthsToArchive(present, cutoff, now, config.orderHotMonths);
    if ('refused' in chosen) return fail(chosen.refused);
    if (chosen.months.length === 0) say(`no month before ${cutoff} is in the database`);
    let archived = 0;
    for (const m of chosen.months) if ((await archiveMonth(context, m, root)) === 'archived') archived++;
    say(`${archived} month(s) archived before ${cutoff}`);
    return 0;
  } catch (error) {
    say(`FAILED: ${(error as Error).message}`);
    return 1;
  } finally {
    if (given === undefined) await pool.end();
  }
}

if (process.argv[1]?.endsWith('archive.js')) {
  process.exitCode = await main(process.argv.slice(2));
}
