import { expect } from 'chai';
import { backoffCeilingMs, isTransientError, retryDelayMs, type Backoff } from '../../domain/retryPolicy.js';

describe('retry policy: exponential backoff with full jitter, and which failures are transient', () => {
  const backoff: Backoff = { baseMs: 1_000, maxMs: 30_000 };

  it('doubles the ceiling with each attempt, up to the maximum', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => backoffCeilingMs(backoff, n))).to.deep.equal([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
    expect(backoffCeilingMs(backoff, 0)).to.equal(1_000);
  });

  it('draws the delay uniformly below the ceiling (full jitter), after a hint when there is one', () => {
    expect(retryDelayMs(backoff, 3, 0, () => 0)).to.equal(0);
    expect(retryDelayMs(backoff, 3, 0, () => 0.5)).to.equal(2_000);
    expect(retryDelayMs(backoff, 3, 0, () => 0.999999)).to.equal(3_999);
    expect(retryDelayMs(backoff, 1, 700, () => 0.5)).to.equal(1_200);
    const delays = Array.from({ length: 200 }, () => retryDelayMs(backoff, 4));
    expect(Math.min(...delays)).to.be.at.least(0);
    expect(Math.max(...delays)).to.be.below(8_000);
    expect(new Set(delays).size, 'spread out, not one value').to.be.greaterThan(100);
  });

  const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code, severity: 'FATAL' });
  const nodeError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code });

  it('takes infrastructure failures as transient: connections, PostgreSQL not now, Redis and Kafka unreachable', () => {
    const transient: unknown[] = [
      nodeError('ECONNREFUSED'),
      nodeError('ECONNRESET'),
      nodeError('EPIPE'),
      pgError('57P01'), // admin shutdown
      pgError('57P03'), // cannot connect now
      pgError('40001'), // serialization failure
      pgError('40P01'), // deadlock
      pgError('53300'), // too many connections
      pgError('08006'), // connection failure
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Connection is closed.'),
      Object.assign(new Error('Reached the max retries per request limit (which is 3).'), { name: 'MaxRetriesPerRequestError' }),
      new Error('LOADING Redis is loading the dataset in memory'),
      Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' }),
      Object.assign(new Error('PSP unavailable'), { transient: true }),
      // Wrapped: AggregateError (both addresses of localhost refused), a cause, kafkajs' originalError.
      new AggregateError([nodeError('ECONNREFUSED'), nodeError('ECONNREFUSED')], 'connect failed'),
      new Error('routing failed', { cause: pgError('40P01') }),
      Object.assign(new Error('retries exceeded'), {
        name: 'KafkaJSNumberOfRetriesExceeded',
        originalError: nodeError('ECONNRESET'),
      }),
    ];
    for (const error of transient) expect(isTransientError(error), String(error)).to.equal(true);
  });

  it('counts everything else: bugs, bad data, refusals, constraint violations', () => {
    const counted: unknown[] = [
      new Error('not a saga id'),
      new TypeError("Cannot read properties of undefined (reading 'order_id')"),
      pgError('23505'), // unique violation
      pgError('22P02'), // invalid text representation
      pgError('57014'), // statement timeout: may be the statement's own fault
      pgError('42P01'), // undefined table
      'a string',
      undefined,
      null,
      { code: 42 },
      new Error('loading the order failed: the order is read-only', { cause: new Error('still not') }),
    ];
    for (const error of counted) expect(isTransientError(error), String(error)).to.equal(false);
  });

  it('follows a cycle of causes without looping', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(isTransientError(a)).to.equal(false);
  });
});
