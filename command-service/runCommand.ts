import type { Request, Response } from 'express';
import { requirePrincipal } from '../platform/authentication.js';
import type { Config } from '../platform/config.js';
import { withTransactionRetryingConflicts, type Pool, type PoolClient } from '../platform/db.js';
import {
  checkIdempotencyKey,
  claimIdempotencyKey,
  completeIdempotencyKey,
  keyInFlight,
  keyReused,
  releaseIdempotencyKey,
  requestFingerprint,
  type KeyRef,
  type StoredResponse,
} from '../platform/idempotency.js';
import { Problem } from '../platform/problem.js';

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

/**
 * Runs a command in one transaction and answers it. With an Idempotency-Key (contract §2): the first
 * request claims the key and stores its response in the same transaction as its effects; a repeat with
 * the same body replays that response with `Idempotent-Replayed: true`; another body → 422; a repeat
 * while the first is still running → 409. A refusal (4xx) is stored too, so a retry hears the same
 * answer; an unexpected failure (5xx) releases the key, since nothing happened and a retry may succeed.
 * A transaction PostgreSQL rolls back for a deadlock or a serialization failure is run again: a
 * command's effects are its statements (a dead letter's re-drive also publishes, at least once anyway:
 * its consumers dedupe).
 */
export async function runCommand(deps: CommandDeps, req: Request, res: Response, work: CommandWork): Promise<void> {
  const key = checkIdempotencyKey(req.get('Idempotency-Key'));
  if (key === undefined) {
    send(res, await withTransactionRetryingConflicts(deps.pool, work));
    return;
  }
  // Idempotency-Keys are the client's own (contract §8): the same key from two clients is two requests.
  const ref: KeyRef = { key, scope: requirePrincipal(req).keyId };
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
      throw keyReused();
    case 'in-flight':
      throw keyInFlight();
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
    result = await withTransactionRetryingConflicts(deps.pool, async (tx) => {
      const answer = await work(tx);
      await completeIdempotencyKey(tx, ref, toStored(answer));
      return answer;
    });
  } catch (error) {
    if (error instanceof Problem && error.status < 500) {
      await completeIdempotencyKey(deps.pool, ref, problemAnswer(error, req.originalUrl));
    } else {
      await releaseIdempotencyKey(deps.pool, ref).catch(() => undefined);
    }
    throw error;
  }
  send(res, result);
}

export function toStored(result: CommandResult): StoredResponse {
  return { status: result.status, headers: result.headers ?? {}, body: result.body };
}

/** A refusal as an Idempotency-Key keeps it, to be answered again to a retry. */
export function problemAnswer(problem: Problem, instance: string): StoredResponse {
  return { status: problem.status, headers: { 'Content-Type': 'application/problem+json' }, body: problem.toBody(instance) };
}

export function send(res: Response, result: CommandResult | StoredResponse): void {
  const headers = result.headers ?? {};
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  const type = headers['Content-Type'] ?? 'application/json';
  res.status(result.status).type(type).send(JSON.stringify(result.body));
}
