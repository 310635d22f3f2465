import type { Request, Response } from 'express';
import type { Config } from '../platform/config.js';
import { withTransaction, type Pool, type PoolClient } from '../platform/db.js';
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  releaseIdempotencyKey,
  requestFingerprint,
  type KeyRef,
  type StoredResponse,
} from '../platform/idempotency.js';
import { Problem, problems } from '../platform/problem.js';

/** What a command handler answers; stored as is for Idempotency-Key replays. */
export interface CommandResult {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** A command's whole effect, run inside one transaction. */
export type CommandWork = (tx: PoolClient) => Promise<CommandResult>;

export interface CommandDeps {
  readonly pool: Pool;
  readonly config: Pick<Config, 'idempotencyTtlHours' | 'idempotencyLockTimeoutMs'>;
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * Runs a command in one transaction and answers it. With an Idempotency-Key (contract §2): the first
 * request claims the key and stores its response in the same transaction as its effects; a repeat with
 * the same body replays that response with `Idempotent-Replayed: true`; another body → 422; a repeat
 * while the first is still running → 409. A refusal (4xx) is stored too, so a retry hears the same
 * answer; an unexpected failure (5xx) releases the key, since nothing happened and a retry may succeed.
 */
export async function runCommand(deps: CommandDeps, req: Request, res: Response, work: CommandWork): Promise<void> {
  const key = req.get('Idempotency-Key');
  if (key === undefined) {
    send(res, await withTransaction(deps.pool, work));
    return;
  }
  if (!KEY_PATTERN.test(key)) {
    throw problems.validation([{ header: 'Idempotency-Key', detail: 'must be 1 to 255 visible ASCII characters' }]);
  }
  const ref: KeyRef = { key, scope: '' };
  const claim = await claimIdempotencyKey(deps.pool, {
    ...ref,
    fingerprint: requestFingerprint(req.method, req.path, req.body),
    method: req.method,
    path: req.path,
    ttlHours: deps.config.idempotencyTtlHours,
    lockTimeoutMs: deps.config.idempotencyLockTimeoutMs,
  });
  switch (claim.kind) {
    case 'mismatch':
      throw new Problem(
        422,
        'idempotency-key-reused',
        'Idempotency-Key reused',
        'This Idempotency-Key was used with a different request; use a new key for a new request.',
      );
    case 'in-flight':
      throw new Problem(
        409,
        'idempotency-key-in-flight',
        'Request in progress',
        'A request with this Idempotency-Key is still being processed; retry later for its result.',
      );
    case 'replay':
      res.setHeader('Idempotent-Replayed', 'true');
      send(res, claim.response);
      return;
    case 'claimed':
      break;
    default: {
      const unreachable: never = claim;
      throw new Error(`unknown claim ${JSON.stringify(unreachable)}`);
    }
  }

  let result: CommandResult;
  try {
    result = await withTransaction(deps.pool, async (tx) => {
      const answer = await work(tx);
      await completeIdempotencyKey(tx, ref, toStored(answer));
      return answer;
    });
  } catch (error) {
    if (error instanceof Problem && error.status < 500) {
      const body = error.toBody(req.originalUrl);
      await completeIdempotencyKey(deps.pool, ref, {
        status: error.status,
        headers: { 'Content-Type': 'application/problem+json' },
        body,
      });
    } else {
      await releaseIdempotencyKey(deps.pool, ref).catch(() => undefined);
    }
    throw error;
  }
  send(res, result);
}

function toStored(result: CommandResult): StoredResponse {
  return { status: result.status, headers: result.headers ?? {}, body: result.body };
}

function send(res: Response, result: CommandResult | StoredResponse): void {
  const headers = result.headers ?? {};
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  const type = headers['Content-Type'] ?? 'application/json';
  res.status(result.status).type(type).send(JSON.stringify(result.body));
}
