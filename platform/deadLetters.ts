import type { Producer } from 'kafkajs';
import { withTransaction, type Pool, type Queryable } from './db.js';
import { uuidv7 } from './ids.js';
import type { Logger } from './logger.js';
import { metrics } from './metrics.js';
import { Problem, problems } from './problem.js';
import type { Redis } from './redis.js';

/**
 * Dead letters (table `dead_letters`, migration 0010): what consumers gave up on, kept in PostgreSQL
 * until an operator re-drives or discards it (admin API, `npm run dead-letters`). Each is an alert in
 * the log when it is written.
 */
export const DeadLetterStatus = Object.freeze({ dead: 'dead', redriven: 'redriven', discarded: 'discarded' } as const);
export type DeadLetterStatusName = (typeof DeadLetterStatus)[keyof typeof DeadLetterStatus];

export const DeadLetterTransport = Object.freeze({ redisStream: 'redis-stream', kafka: 'kafka' } as const);
export type DeadLetterTransportName = (typeof DeadLetterTransport)[keyof typeof DeadLetterTransport];

/**
 * The field (Redis stream entry) or header (Kafka record) a re-drive adds: the message is for this
 * consumer group only; every other group on the stream or topic skips it.
 */
export const REDRIVE_FOR_FIELD = 'redrive_for';
export const REDRIVE_FOR_HEADER = 'redrive-for';

/** A Kafka record as a dead letter keeps it, to be produced again as it was. */
export interface KafkaMessageCopy {
  readonly key: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly value: string | null;
}

/** What a consumer gives up on. */
export interface NewDeadLetter {
  /** The consumer group: a Redis Streams group, or a Kafka group id. */
  readonly source: string;
  readonly transport: DeadLetterTransportName;
  /** The stream, or the Kafka topic. */
  readonly stream: string;
  /** The stream entry id, or the Kafka record's `partition:offset`. */
  readonly entryId: string;
  readonly eventId?: string | undefined;
  readonly orderId?: string | undefined;
  readonly type?: string | undefined;
  /** The event envelope, when the message carried one that parses. */
  readonly envelope?: unknown;
  /** The message as it arrived: the stream entry's fields, or a KafkaMessageCopy. */
  readonly message: Readonly<Record<string, string>> | KafkaMessageCopy;
  readonly error: string;
  /** Failed deliveries (or attempts) that counted; transient infrastructure failures do not. */
  readonly attempts: number;
  /** When the consumer saw it fail first, if it knows; else now. */
  readonly firstFailureAt?: Date | undefined;
}

export interface DeadLetter {
  readonly id: string;
  readonly source: string;
  readonly transport: DeadLetterTransportName;
  readonly stream: string;
  readonly entry_id: string;
  readonly event_id: string | null;
  readonly order_id: string | null;
  readonly type: string | null;
  readonly envelope: unknown;
  readonly message: Record<string, string> | KafkaMessageCopy;
  readonly error: string;
  readonly attempts: number;
  readonly first_failure_at: string;
  readonly last_failure_at: string;
  readonly status: DeadLetterStatusName;
  readonly redrives: number;
  readonly redriven_at: string | null;
  readonly discarded_at: string | null;
}

/** Where consumers put what they give up on (PgDeadLetters; tests may pass their own). */
export interface DeadLetterSink {
  record(letter: NewDeadLetter): Promise<DeadLetter>;
}

const COLUMNS = `id, source, transport, stream, entry_id, event_id, order_id, type, envelope, message, error, attempts,
  to_char(first_failure_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS first_failure_at,
  to_char(last_failure_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last_failure_at,
  status, redrives,
  to_char(redriven_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS redriven_at,
  to_char(discarded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS discarded_at`;

/** PostgreSQL refuses NUL in text and jsonb: a dead letter must be storable whatever it holds. */
function storable(text: string): string;
function storable(text: string | undefined): string | null;
function storable(text: string | undefined): string | null {
  return text === undefined ? null : text.replace(/\0/g, '\uFFFD');
}

function storableJson(value: unknown): string | null {
  if (value === undefined) return null;
  return JSON.stringify(value).replace(/\\u0000/g, '\\ufffd');
}

/** What identifies one message across its redeliveries and re-drives. */
function messageKey(letter: NewDeadLetter): string {
  return letter.eventId !== undefined && letter.eventId !== '' ? `id:${letter.eventId}` : `${letter.stream}/${letter.entryId}`;
}

/**
 * Dead letters written to PostgreSQL, idempotently: the same message dead-lettered again (its entry
 * redelivered because the acknowledgement was lost) updates its row; failing again after a re-drive
 * (a new entry or offset) opens the row again with the attempts added up.
 */
export class PgDeadLetters implements DeadLetterSink {
  constructor(
    private readonly db: Queryable,
    private readonly logger: Logger,
  ) {}

  async record(letter: NewDeadLetter): Promise<DeadLetter> {
    const result = await this.db.query<DeadLetter>(
      `INSERT INTO dead_letters AS d (id, source, transport, stream, entry_id, message_key, event_id, order_id, type, envelope,
                                      message, error, attempts, first_failure_at, last_failure_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12, $13, coalesce($14::timestamptz, now()), now())
       ON CONFLICT (source, message_key) DO UPDATE SET
         stream = excluded.stream, entry_id = excluded.entry_id, envelope = excluded.envelope, message = excluded.message,
         error = excluded.error, last_failure_at = excluded.last_failure_at,
         attempts = CASE WHEN (d.stream, d.entry_id) = (excluded.stream, excluded.entry_id)
                         THEN greatest(d.attempts, excluded.attempts) ELSE d.attempts + excluded.attempts END,
         status = CASE WHEN (d.stream, d.entry_id) = (excluded.stream, excluded.entry_id) THEN d.status ELSE 'dead' END
       RETURNING ${COLUMNS}`,
      [
        uuidv7(),
        letter.source,
        letter.transport,
        letter.stream,
        letter.entryId,
        storable(messageKey(letter)),
        storable(letter.eventId),
        storable(letter.orderId),
        storable(letter.type),
        storableJson(letter.envelope),
        storableJson(letter.message),
        storable(letter.error),
        letter.attempts,
        letter.firstFailureAt?.toISOString() ?? null,
      ],
    );
    const row = result.rows[0] as DeadLetter;
    metrics.deadLetters.inc({ source: letter.source });
    // An alert: someone has to look at it (re-drive once the cause is fixed, or discard).
    this.logger.error(
      {
        alert: 'dead-letter',
        dead_letter_id: row.id,
        group: letter.source,
        stream: letter.stream,
        entry_id: letter.entryId,
        event_id: letter.eventId,
        order_id: letter.orderId,
        type: letter.type,
        error: letter.error,
        attempts: letter.attempts,
      },
      'dead letter',
    );
    return row;
  }
}

export interface DeadLetterFilter {
  /** The consumer group (`source`). */
  readonly group?: string | undefined;
  readonly status?: DeadLetterStatusName | undefined;
  readonly limit?: number | undefined;
}

/** Dead letters, the latest failure first. */
export async function listDeadLetters(db: Queryable, filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
  const result = await db.query<DeadLetter>(
    `SELECT ${COLUMNS} FROM dead_letters
      WHERE ($1::text IS NULL OR source = $1) AND ($2::text IS NULL OR status = $2)
      ORDER BY last_failure_at DESC, id DESC LIMIT $3`,
    [filter.group ?? null, filter.status ?? null, filter.limit ?? 100],
  );
  return result.rows;
}

export async function findDeadLetter(db: Queryable, id: string, lock = false): Promise<DeadLetter | undefined> {
  const result = await db.query<DeadLetter>(`SELECT ${COLUMNS} FROM dead_letters WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [
    id,
  ]);
  return result.rows[0];
}

/** Puts a dead letter back where it came from, for its own consumer group only. */
export interface RedriveTargets {
  redrive(letter: DeadLetter): Promise<void>;
}

/**
 * Re-drive by transport. A stream entry goes back on its stream as a new entry (the same fields plus
 * `redrive_for: <group>`: only that group handles it, the others acknowledge it unhandled), so its
 * group delivers it with a fresh delivery count. A Kafka record is produced again to its topic with
 * the same key, value and headers plus `redrive-for: <group id>` (the other groups on the topic skip
 * it), landing on the same partition behind what came since.
 */
export function redriveTargets(redis: Redis, kafkaProducer: () => Promise<Producer>): RedriveTargets {
  return {
    async redrive(letter) {
      if (letter.transport === DeadLetterTransport.redisStream) {
        const fields = Object.entries(letter.message as Record<string, string>).filter(([name]) => name !== REDRIVE_FOR_FIELD);
        await redis.xadd(letter.stream, '*', ...fields.flat(), REDRIVE_FOR_FIELD, letter.source);
        return;
      }
      const copy = letter.message as KafkaMessageCopy;
      const producer = await kafkaProducer();
      await producer.send({
        topic: letter.stream,
        messages: [{ key: copy.key, value: copy.value, headers: { ...copy.headers, [REDRIVE_FOR_HEADER]: letter.source } }],
      });
    },
  };
}

/** A Kafka producer connected on first use (re-drives are rare: a process that never re-drives never connects). */
export function lazyProducer(create: () => Producer): { get: () => Promise<Producer>; close: () => Promise<void> } {
  let connecting: Promise<Producer> | undefined;
  return {
    get() {
      connecting ??= (async () => {
        const producer = create();
        await producer.connect();
        return producer;
      })().catch((error: unknown) => {
        connecting = undefined;
        throw error;
      });
      return connecting;
    },
    async close() {
      const producer = await connecting?.catch(() => undefined);
      connecting = undefined;
      await producer?.disconnect();
    },
  };
}

function closed(letter: DeadLetter): Problem {
  return new Problem(
    409,
    `dead-letter-${letter.status}`,
    `Dead letter already ${letter.status}`,
    `Dead letter ${letter.id} was ${letter.status} at ${letter.redriven_at ?? letter.discarded_at}; only a dead one can be re-driven or discarded.`,
    { extensions: { dead_letter: letter } },
  );
}

/**
 * Re-drives one dead letter in the caller's transaction: under its row lock, puts it back on its
 * source, then marks it `redriven` — if putting it back fails, nothing is marked and it may be tried
 * again (if the commit fails after it was put back, it is delivered twice: consumers are idempotent).
 * 404 for an unknown id, 409 when it is not dead (already re-driven or discarded).
 */
export async function redriveDeadLetterIn(tx: Queryable, targets: RedriveTargets, id: string): Promise<DeadLetter> {
  const letter = await findDeadLetter(tx, id, true);
  if (letter === undefined) throw problems.notFound('Dead letter', id);
  if (letter.status !== DeadLetterStatus.dead) throw closed(letter);
  await targets.redrive(letter);
  const updated = await tx.query<DeadLetter>(
    `UPDATE dead_letters SET status = 'redriven', redriven_at = now(), redrives = redrives + 1 WHERE id = $1 RETURNING ${COLUMNS}`,
    [id],
  );
  return updated.rows[0] as DeadLetter;
}

export function redriveDeadLetter(pool: Pool, targets: RedriveTargets, id: string): Promise<DeadLetter> {
  return withTransaction(pool, (tx) => redriveDeadLetterIn(tx, targets, id));
}

/** Every dead letter (of one group, if given) re-driven, oldest first, each in its own transaction; answers those re-driven. */
export async function redriveAllDeadLetters(
  pool: Pool,
  targets: RedriveTargets,
  group?: string,
  limit = 10_000,
): Promise<DeadLetter[]> {
  const dead = await pool.query<{ id: string }>(
    `SELECT id FROM dead_letters WHERE status = 'dead' AND ($1::text IS NULL OR source = $1) ORDER BY last_failure_at, id LIMIT $2`,
    [group ?? null, limit],
  );
  const redriven: DeadLetter[] = [];
  for (const { id } of dead.rows) {
    try {
      redriven.push(await redriveDeadLetter(pool, targets, id));
    } catch (error) {
      // Re-driven or discarded by someone else meanwhile: not ours to do any more.
      if (!(error instanceof Problem && error.status === 409)) throw error;
    }
  }
  return redriven;
}

/** Marks a dead letter `discarded` (looked at, nothing to do) in the caller's transaction. 404 unknown, 409 not dead. */
export async function discardDeadLetterIn(tx: Queryable, id: string): Promise<DeadLetter> {
  const letter = await findDeadLetter(tx, id, true);
  if (letter === undefined) throw problems.notFound('Dead letter', id);
  if (letter.status !== DeadLetterStatus.dead) throw closed(letter);
  const updated = await tx.query<DeadLetter>(
    `UPDATE dead_letters SET status = 'discarded', discarded_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
    [id],
  );
  return updated.rows[0] as DeadLetter;
}

export function discardDeadLetter(pool: Pool, id: string): Promise<DeadLetter> {
  return withTransaction(pool, (tx) => discardDeadLetterIn(tx, id));
}

/** Dead letters waiting for an operator (status dead), per source: the gauge an alert watches. */
export async function countDeadLetters(db: Queryable): Promise<Array<readonly [string, number]>> {
  const result = await db.query<{ source: string; n: number }>(
    `SELECT source, count(*)::int AS n FROM dead_letters WHERE status = 'dead' GROUP BY source`,
  );
  return result.rows.map((r) => [r.source, r.n] as const);
}
