import { Redis } from 'ioredis';

export type { Redis };

/** An ioredis client that retries its connection forever with capped backoff and never crashes the process. */
export function createRedis(url: string, name: string): Redis {
  const client = new Redis(url, {
    connectionName: name,
    // ioredis 6 speaks RESP3 by default; our parsers read RESP2's reply shapes (flat WITHSCORES pairs,
    // XINFO as arrays) and RESP3 offers nothing we use.
    protocol: 2,
    lazyConnect: false,
    maxRetriesPerRequest: 3,
    enableOfflineQueue: true,
    // Commands issued in the same tick go out in one write: socket writes are what costs most here.
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  });
  client.on('error', () => undefined); // reconnects on its own; health reports the outage
  return client;
}
