import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { accessFor, bearerToken, hasScope, type Principal } from './access.js';
import { findActiveApiKey, hashApiKey } from './apiKeys.js';
import type { Queryable } from './db.js';
import type { Logger } from './logger.js';
import { Problem, problems } from './problem.js';

/**
 * The authentication gate in front of every server that answers `/api/v1` (the command and query
 * handlers, their node:http fast paths included): it finds the route's scope in the one route table
 * (platform/access), checks the Bearer key, and hands the request on with its principal attached.
 */

/** Looks up a key's principal: undefined for no active key with this secret. */
export type KeyLookup = (key: string) => Promise<Principal | undefined>;

interface CachedKey {
  readonly principal: Principal | null;
  readonly expiresAt: number;
}

/**
 * Key lookups cached in this process for `ttlMs`, keyed by the key's hash, unknown keys included (a
 * flood of bad keys costs no SQL either). So a revoked key is refused by every process within ttlMs at
 * the latest (at once by the process that revoked it, which forgets it); a new key works at once, since
 * its secret cannot have been looked up before it existed. Concurrent misses share one lookup.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, CachedKey>();
  private readonly pending = new Map<string, Promise<Principal | null>>();

  constructor(
    private readonly lookup: KeyLookup,
    readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  static forDatabase(db: Queryable, ttlMs: number): ApiKeyCache {
    return new ApiKeyCache((key) => findActiveApiKey(db, key), ttlMs);
  }

  /** The principal (null: no such active key), synchronously when cached. */
  resolve(key: string): Principal | null | Promise<Principal | null> {
    const hash = hashApiKey(key);
    const cached = this.entries.get(hash);
    if (cached !== undefined && cached.expiresAt > this.now()) return cached.principal;
    const running = this.pending.get(hash);
    if (running !== undefined) return running;
    const looked = this.lookup(key).then(
      (principal) => {
        this.pending.delete(hash);
        // Bounded: a full cache starts over rather than growing with every random key a client tries.
        if (this.entries.size >= this.maxEntries) this.entries.clear();
        this.entries.set(hash, { principal: principal ?? null, expiresAt: this.now() + this.ttlMs });
        return principal ?? null;
      },
      (error: unknown) => {
        this.pending.delete(hash);
        throw error;
      },
    );
    this.pending.set(hash, looked);
    return looked;
  }

  /** Drops what this process remembers of a key (its revocation is then seen here at once). */
  forget(keyId: string): void {
    for (const [hash, entry] of this.entries) if (entry.principal?.keyId === keyId) this.entries.delete(hash);
  }
}

/** What the rate limiter decided for one request; the headers go on every answer of a limited key. */
export interface RateDecision {
  readonly allowed: boolean;
  readonly headers: Readonly<Record<string, string>>;
  /** Seconds until a token is back, when refused. */
  readonly retryAfterSeconds: number;
}

/** Takes one token from a key's bucket; undefined: this key is not limited. */
export type RateLimiter = (principal: Principal) => Promise<RateDecision | undefined> | undefined;

const principals = new WeakMap<IncomingMessage, Principal>();

/** The principal the gate admitted this request as (express's Request is the same object). */
export function principalOf(req: IncomingMessage): Principal | undefined {
  return principals.get(req);
}

/** The principal, or 401 when no gate admitted the request (an app served without one refuses everything). */
export function requirePrincipal(req: IncomingMessage): Principal {
  const principal = principals.get(req);
  if (principal === undefined) throw unauthenticated('missing');
  return principal;
}

export function unauthenticated(reason: 'missing' | 'invalid'): Problem {
  return new Problem(
    401,
    'unauthenticated',
    'Authentication required',
    reason === 'missing' ? 'Send an API key as Authorization: Bearer <key>.' : 'The API key is unknown or revoked.',
  );
}

export function insufficientScope(scope: string): Problem {
  return new Problem(403, 'insufficient-scope', 'Not allowed', `This API key lacks the scope ${scope} this request needs.`, {
    extensions: { required_scope: scope },
  });
}

/** A channel's key naming another channel in a body it writes. */
export function channelForbidden(keyChannel: string): Problem {
  return new Problem(
    403,
    'channel-forbidden',
    'Not allowed in this channel',
    `This API key places and reads only ${keyChannel} orders.`,
  );
}

function rateLimited(retryAfterSeconds: number): Problem {
  return new Problem(
    429,
    'rate-limited',
    'Too many requests',
    `This API key's rate limit is reached; retry in ${retryAfterSeconds} s.`,
  );
}

export interface AuthGateOptions {
  readonly keys: ApiKeyCache;
  readonly limiter?: RateLimiter;
  readonly logger: Logger;
}

/** Wraps a request listener: `/api/v1` requests reach it only with a key that has the route's scope. */
export function guardApi(listener: RequestListener, options: AuthGateOptions): RequestListener {
  const { keys, limiter, logger } = options;
  return (req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const access = accessFor(req.method ?? 'GET', path);
    if (access.kind === 'open') {
      listener(req, res);
      return;
    }
    const header = req.headers.authorization;
    const token = bearerToken(header);
    if (token === undefined) {
      refuse(
        res,
        url,
        unauthenticated(header === undefined ? 'missing' : 'invalid'),
        header === undefined ? 'Bearer' : 'Bearer error="invalid_token"',
      );
      return;
    }
    const admit = (principal: Principal | null) => {
      if (principal === null) {
        refuse(res, url, unauthenticated('invalid'), 'Bearer error="invalid_token"');
        return;
      }
      if (access.scope !== null && !hasScope(principal.scopes, access.scope)) {
        refuse(res, url, insufficientScope(access.scope), `Bearer error="insufficient_scope", scope="${access.scope}"`);
        return;
      }
      principals.set(req, principal);
      const limited = limiter?.(principal);
      if (limited === undefined) {
        listener(req, res);
        return;
      }
      limited.then(
        (decision) => {
          if (decision === undefined) {
            listener(req, res);
            return;
          }
          for (const [name, value] of Object.entries(decision.headers)) res.setHeader(name, value);
          if (decision.allowed) listener(req, res);
          else
            refuse(res, url, rateLimited(decision.retryAfterSeconds), undefined, {
              'Retry-After': String(decision.retryAfterSeconds),
            });
        },
        (error: unknown) => {
          // A rate limiter that cannot answer (Redis down) does not stop the API: the request goes on.
          logger.warn({ err: error }, 'rate limiter unavailable; request let through');
          listener(req, res);
        },
      );
    };
    let found: Principal | null | Promise<Principal | null>;
    try {
      found = keys.resolve(token);
    } catch (error) {
      failed(error);
      return;
    }
    if (found instanceof Promise) found.then(admit, failed);
    else admit(found);

    function failed(error: unknown) {
      logger.error({ err: error }, 'api key lookup failed');
      refuse(res, url, problems.unavailable('API keys cannot be checked right now; retry shortly.'), undefined, {
        'Retry-After': '1',
      });
    }
  };
}

function refuse(
  res: ServerResponse,
  instance: string,
  problem: Problem,
  challenge: string | undefined,
  extra: Record<string, string> = {},
): void {
  const payload = JSON.stringify(problem.toBody(instance));
  res.writeHead(problem.status, {
    ...extra,
    ...(challenge === undefined ? {} : { 'WWW-Authenticate': challenge }),
    'Content-Type': 'application/problem+json; charset=utf-8',
    'Content-Length': Buffer.byteLength(payload),
  });
  res.end(payload);
}
