/**
 * The one shape of a consumer's handler, for Redis Streams (platform/streamConsumer) and Kafka
 * (platform/kafkaConsumer) alike: it takes the messages one read gave it, at once, and answers those
 * that failed. A single message is a batch of one, not another code path. A consumer that reacts to
 * each type differently gives a dispatch table (`dispatchByType`), one handler per type it takes,
 * checked complete by the compiler.
 */

/** A message as a handler gets it, whatever the transport: what it says (checked at the edge), and how often it came. */
export interface Message<E> {
  readonly event: E;
  /** How many times this message has been delivered, this delivery included. */
  readonly deliveries: number;
}

/** A message its handler could not handle now: it is retried after a backoff, and dead-lettered if it keeps failing. */
export interface HandlingFailure<M> {
  readonly message: M;
  readonly error: unknown;
}

/**
 * Handles the messages one read gave it, in order, at once; answers those that failed (the others are
 * done: acknowledged, or their offsets committed). Throwing fails them all. Handlers are idempotent: a
 * message comes again after a crash, before it was acknowledged.
 */
export type MessageHandler<M> = (messages: readonly M[]) => Promise<readonly HandlingFailure<M>[]>;

/** The messages of one event type among `M`s (their event narrowed to that type). */
export type MessageOfType<M extends Message<{ readonly type: string }>, K extends string> = M & {
  readonly event: Extract<M['event'], { readonly type: K }>;
};

/**
 * A dispatch table: exactly one handler for each event type `T` the consumer takes (e.g. its consumer
 * group's subscription); each handler gets the messages of its own type. A type left out, or one the
 * consumer does not take, fails to compile.
 */
export type HandlerTable<M extends Message<{ readonly type: string }>, T extends M['event']['type']> = {
  readonly [K in T]: MessageHandler<MessageOfType<M, K>>;
};

/** A handler for steps that cannot be set-based: each message alone, in order; one's failure does not stop the next. */
export function oneByOne<M>(handle: (message: M) => Promise<unknown>): MessageHandler<M> {
  return async (messages) => {
    const failures: HandlingFailure<M>[] = [];
    for (const message of messages) {
      try {
        await handle(message);
      } catch (error) {
        failures.push({ message, error });
      }
    }
    return failures;
  };
}

/**
 * One handler for a batch of several types: each message goes to its type's handler in the table.
 * Messages of one key (an order) stay in turn: the batch is taken in rounds — the first message of
 * every key, then the second, … — and in each round the messages of one type go to their handler
 * together. Once a key's message failed, its later ones in the batch are not handled: they fail with
 * the same error (so they are retried after it, in order, and count as it does).
 */
export function dispatchByType<M extends Message<{ readonly type: string }>, T extends M['event']['type']>(
  table: HandlerTable<M, T>,
  keyOf: (message: M) => string,
): MessageHandler<M> {
  // Every handler takes the messages of its key's type, which is what it is given below.
  const handlers = table as unknown as Readonly<Record<string, MessageHandler<M>>>;
  return async (messages) => {
    const rounds: M[][] = [];
    const seen = new Map<string, number>();
    for (const message of messages) {
      const key = keyOf(message);
      const position = seen.get(key) ?? 0;
      seen.set(key, position + 1);
      (rounds[position] ??= []).push(message);
    }
    const failures: HandlingFailure<M>[] = [];
    const failedKeys = new Map<string, unknown>();
    for (const round of rounds) {
      const live: M[] = [];
      for (const message of round) {
        const key = keyOf(message);
        if (failedKeys.has(key)) failures.push({ message, error: failedKeys.get(key) });
        else live.push(message);
      }
      const byType = Map.groupBy(live, (message) => message.event.type);
      for (const [type, ofType] of byType) {
        const handler = handlers[type];
        let failed: readonly HandlingFailure<M>[];
        try {
          if (handler === undefined) throw new Error(`no handler for ${type} messages`);
          failed = await handler(ofType);
        } catch (error) {
          failed = ofType.map((message) => ({ message, error }));
        }
        for (const failure of failed) {
          failures.push(failure);
          failedKeys.set(keyOf(failure.message), failure.error);
        }
      }
    }
    return failures;
  };
}
