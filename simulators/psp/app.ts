import express, { type Request, type Response } from 'express';
import { withTransaction, type Pool, type PoolClient } from '../../platform/db.js';
import { jsonBody, param, problemHandler, routeNotFound } from '../../platform/http.js';
import { rejoinTraceScope } from '../../platform/requestTrace.js';
import { requestFingerprint } from '../../platform/idempotency.js';
import { uuidv7 } from '../../platform/ids.js';
import type { Logger } from '../../platform/logger.js';
import { Problem } from '../../platform/problem.js';
import { compileValidator } from '../../platform/validation.js';
import { authorizeOnce, storeAnswer, storedAnswer, type NewAuthorization, type StoredAnswer } from './store.js';

/**
 * The payment service provider sandbox (contract §4 tokens): authorize, capture (partial, several per
 * authorization), void, refund (partial), and a risk assessment per card token. Every mutating call
 * needs an Idempotency-Key; a repeat returns the first answer. `tok_timeout` never answers.
 */
export const SandboxToken = Object.freeze({
  visa: 'tok_visa',
  mastercard: 'tok_mastercard',
  declined: 'tok_chargeDeclined',
  timeout: 'tok_timeout',
  riskHighest: 'tok_riskLevelHighest',
  riskElevated: 'tok_riskLevelElevated',
} as const);

/** Above this (1 000 000.00 in minor units) one authorization is declined: `insufficient_funds`. */
export const CARD_LIMIT = 100_000_000;

export type RiskLevel = 'normal' | 'elevated' | 'highest';

function riskOf(token: string): RiskLevel {
  if (token === SandboxToken.riskHighest) return 'highest';
  if (token === SandboxToken.riskElevated) return 'elevated';
  return 'normal';
}

const validate = {
  authorize: compileValidator<{ amount: number; currency: string; token: string; reference: string }>({
    type: 'object',
    additionalProperties: false,
    required: ['amount', 'currency', 'token', 'reference'],
    properties: {
      amount: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
      currency: { type: 'string', pattern: '^[A-Z]{3}$' },
      token: { type: 'string', pattern: '^tok_[A-Za-z0-9_]{1,100}$' },
      reference: { type: 'string', format: 'storable-text', minLength: 1, maxLength: 200 },
    },
  }),
  amount: compileValidator<{ amount: number }>({
    type: 'object',
    additionalProperties: false,
    required: ['amount'],
    properties: { amount: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } },
  }),
  /** A void carries nothing: an empty object, or no body. */
  empty: compileValidator<Record<string, never>>({ type: 'object', additionalProperties: false, properties: {} }),
  risk: compileValidator<{ token: string }>({
    type: 'object',
    additionalProperties: false,
    required: ['token'],
    properties: { token: { type: 'string', minLength: 1, maxLength: 128 } },
  }),
  listing: compileValidator<{ reference?: string; status?: string; after?: string; created_before?: string; limit?: string }>(
    {
      type: 'object',
      additionalProperties: false,
      properties: {
        reference: { type: 'string', minLength: 1, maxLength: 200 },
        status: { type: 'string', enum: ['authorized', 'partially_captured', 'captured', 'voided'] },
        after: { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' },
        created_before: { type: 'string', format: 'date-time' },
        limit: { type: 'string', pattern: '^(?:[1-9][0-9]{0,2}|1000)$' },
      },
    },
    'parameter',
  ),
  id: compileValidator<{ id: string }>(
    { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } },
    'parameter',
  ),
};

export interface PspAppOptions {
  readonly pool: Pool;
  readonly logger: Logger;
  /** Simulated processing time of each call. */
  readonly latencyMs: number;
}

const NOT_FOUND: StoredAnswer = Object.freeze({ status: 404, body: { error: 'not_found' } });

/** The authorization, locked for the rest of the call's transaction (calls on one take turns). */
async function lockAuthorization(
  tx: PoolClient,
  id: string,
): Promise<{ status: string; amount: number; amount_captured: number } | undefined> {
  const found = await tx.query<{ status: string; amount: number; amount_captured: number }>(
    'SELECT status, amount, amount_captured FROM authorizations WHERE authorization_id = $1 FOR UPDATE',
    [id],
  );
  return found.rows[0];
}

function idempotencyKeyOf(req: Request): string {
  const key = req.get('Idempotency-Key');
  if (key === undefined || key.length === 0 || key.length > 255) {
    throw new Problem(
      400,
      'idempotency-key-required',
      'Idempotency-Key required',
      'Every mutating PSP call needs an Idempotency-Key header.',
    );
  }
  return key;
}

/** What an authorization request is answered with: a decline, or an authorization to create. */
function authorizationAnswer(body: { amount: number; currency: string; token: string; reference: string }): {
  answer: StoredAnswer;
  authorization?: NewAuthorization;
} {
  if (body.token === SandboxToken.declined) {
    return { answer: { status: 402, body: { status: 'declined', decline_code: 'card_declined', reference: body.reference } } };
  }
  // Every sandbox card has a limit: one authorization above it is declined for insufficient funds.
  if (body.amount > CARD_LIMIT) {
    return {
      answer: { status: 402, body: { status: 'declined', decline_code: 'insufficient_funds', reference: body.reference } },
    };
  }
  const authorizationId = uuidv7();
  const riskLevel = riskOf(body.token);
  return {
    answer: {
      status: 201,
      body: {
        authorization_id: authorizationId,
        status: 'authorized',
        amount: body.amount,
        currency: body.currency,
        risk_level: riskLevel,
        reference: body.reference,
      },
    },
    authorization: {
      authorization_id: authorizationId,
      reference: body.reference,
      token: body.token,
      amount: body.amount,
      currency: body.currency,
      risk_level: riskLevel,
    },
  };
}

export function createPspApp(options: PspAppOptions): { app: express.Express; hanging: Set<Response> } {
  const { pool, logger, latencyMs } = options;
  const app = express();
  app.disable('x-powered-by');
  app.use(jsonBody());
  app.use(rejoinTraceScope);
  // Requests for tok_timeout are held open and never answered; kept so shutdown can drop them.
  const hanging = new Set<Response>();
  const hang = (res: Response) => {
    hanging.add(res);
    res.on('close', () => hanging.delete(res));
  };
  const pause = () => (latencyMs > 0 ? new Promise((resolve) => setTimeout(resolve, latencyMs)) : Promise.resolve());

  // A simulated outage (POST /v1/sandbox/outage {"down": true|false}): every other call answers 503
  // until it is over, so callers' retries and circuit breakers can be exercised.
  let down = false;
  app.post('/v1/sandbox/outage', (req, res) => {
    down = (req.body as { down?: unknown } | undefined)?.down === true;
    logger.warn({ down }, 'PSP sandbox outage switched');
    res.json({ down });
  });
  app.use((req, res, next) => {
    if (down && req.path !== '/health') {
      res.status(503).json({ error: 'sandbox_outage' });
      return;
    }
    next();
  });

  /** Runs a mutating call once per Idempotency-Key (serialized per key), replaying its first answer. */
  async function once(
    req: Request,
    res: Response,
    operation: string,
    work: (tx: PoolClient) => Promise<StoredAnswer>,
  ): Promise<void> {
    const key = idempotencyKeyOf(req);
    const fingerprint = requestFingerprint(req.method, req.path, req.body);
    await pause();
    const answer = await withTransaction(pool, async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`psp:${key}`]);
      const stored = await storedAnswer(tx, key, fingerprint);
      if (stored) {
        if (!stored.sameRequest) {
          return { status: 422, body: { error: 'idempotency_key_reused', message: 'This key was used for another request.' } };
        }
        return { ...stored.answer, replayed: true };
      }
      const fresh = await work(tx);
      await storeAnswer(tx, key, operation, fingerprint, fresh);
      return fresh;
    });
    if ('replayed' in answer) res.setHeader('Idempotent-Replayed', 'true');
    res.status(answer.status).json(answer.body);
  }

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  // The hot call, once per saga: answered in one statement (authorizeOnce) rather than a transaction
  // of six under an advisory lock; the same key still gets the same answer and one authorization.
  app.post('/v1/authorizations', async (req, res) => {
    const body = validate.authorize(req.body);
    if (body.token === SandboxToken.timeout) {
      logger.info({ reference: body.reference }, 'tok_timeout: holding the authorization request unanswered');
      hang(res);
      return;
    }
    const key = idempotencyKeyOf(req);
    const fingerprint = requestFingerprint(req.method, req.path, req.body);
    await pause();
    const { answer: fresh, authorization } = authorizationAnswer(body);
    const stored = await authorizeOnce(pool, key, fingerprint, fresh, authorization);
    if (stored === undefined) throw new Error(`no answer stored for Idempotency-Key ${key}`);
    if (!stored.sameRequest) {
      res.status(422).json({ error: 'idempotency_key_reused', message: 'This key was used for another request.' });
      return;
    }
    if (stored.replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.status(stored.answer.status).json(stored.answer.body);
  });

  // By reference (?reference=: a merchant resolving an unknown outcome), or a page of recent ones
  // (?status=&after=&created_before=&limit=, in id order: a merchant reconciling its books).
  app.get('/v1/authorizations', async (req, res) => {
    const query = validate.listing({ ...req.query });
    if (query.reference !== undefined) {
      const result = await pool.query(
        `SELECT authorization_id, reference, amount, currency, status, amount_captured, amount_refunded, risk_level, created_at
           FROM authorizations WHERE reference = $1 ORDER BY created_at`,
        [query.reference],
      );
      res.json({ authorizations: result.rows });
      return;
    }
    if (query.after === undefined && query.created_before === undefined && query.status === undefined)
      throw new Problem(
        400,
        'reference-required',
        'reference or a listing required',
        'Pass ?reference= or ?status=&after=&created_before=.',
      );
    const result = await pool.query(
      `SELECT authorization_id, reference, amount, currency, status, amount_captured, amount_refunded, risk_level, created_at
         FROM authorizations
        WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR authorization_id > $2)
          AND ($3::timestamptz IS NULL OR created_at < $3)
        ORDER BY authorization_id LIMIT $4`,
      [query.status ?? null, query.after ?? null, query.created_before ?? null, Number(query.limit ?? 100)],
    );
    res.json({ authorizations: result.rows });
  });

  app.get('/v1/authorizations/:id', async (req, res) => {
    const { id } = validate.id({ id: param(req, 'id') });
    const result = await pool.query(
      `SELECT authorization_id, reference, amount, currency, status, amount_captured, amount_refunded, risk_level, created_at
         FROM authorizations WHERE authorization_id = $1`,
      [id],
    );
    if (result.rows[0] === undefined) throw new Problem(404, 'not-found', 'Authorization not found', `No authorization ${id}.`);
    res.json(result.rows[0]);
  });

  // A partial reversal: the authorization shrinks by `amount` (never below what was captured); the
  // card holder's funds are released. Reaching zero voids it.
  app.post('/v1/authorizations/:id/reversals', async (req, res) => {
    const { id } = validate.id({ id: param(req, 'id') });
    const body = validate.amount(req.body);
    await once(req, res, 'reversal', async (tx) => {
      const auth = await lockAuthorization(tx, id);
      if (auth === undefined) return NOT_FOUND;
      if (auth.status === 'voided') return { status: 409, body: { error: 'authorization_voided' } };
      if (body.amount > auth.amount - auth.amount_captured) {
        return { status: 422, body: { error: 'exceeds_uncaptured', uncaptured: auth.amount - auth.amount_captured } };
      }
      const amount = auth.amount - body.amount;
      const status = amount === 0 ? 'voided' : auth.status;
      await tx.query('UPDATE authorizations SET amount = $2, status = $3, updated_at = now() WHERE authorization_id = $1', [
        id,
        amount,
        status,
      ]);
      return { status: 201, body: { authorization_id: id, reversed: body.amount, amount, status } };
    });
  });

  app.post('/v1/authorizations/:id/void', async (req, res) => {
    const { id } = validate.id({ id: param(req, 'id') });
    validate.empty(req.body ?? {});
    await once(req, res, 'void', async (tx) => {
      const auth = await lockAuthorization(tx, id);
      if (auth === undefined) return NOT_FOUND;
      if (auth.status === 'voided') return { status: 200, body: { authorization_id: id, status: 'voided' } };
      if (auth.amount_captured > 0) return { status: 409, body: { error: 'already_captured', status: auth.status } };
      await tx.query(`UPDATE authorizations SET status = 'voided', updated_at = now() WHERE authorization_id = $1`, [id]);
      return { status: 200, body: { authorization_id: id, status: 'voided' } };
    });
  });

  app.post('/v1/authorizations/:id/captures', async (req, res) => {
    const { id } = validate.id({ id: param(req, 'id') });
    const { amount } = validate.amount(req.body);
    await once(req, res, 'capture', async (tx) => {
      const auth = await lockAuthorization(tx, id);
      if (auth === undefined) return NOT_FOUND;
      if (auth.status === 'voided') return { status: 409, body: { error: 'authorization_voided' } };
      if (auth.amount_captured + amount > auth.amount) {
        return { status: 422, body: { error: 'amount_exceeds_authorization', capturable: auth.amount - auth.amount_captured } };
      }
      const captureId = uuidv7();
      await tx.query('INSERT INTO captures (capture_id, authorization_id, amount) VALUES ($1, $2, $3)', [captureId, id, amount]);
      await tx.query(
        `UPDATE authorizations SET amount_captured = amount_captured + $2,
                status = CASE WHEN amount_captured + $2 = amount THEN 'captured' ELSE 'partially_captured' END,
                updated_at = now()
          WHERE authorization_id = $1`,
        [id, amount],
      );
      return { status: 201, body: { capture_id: captureId, authorization_id: id, amount, status: 'succeeded' } };
    });
  });

  app.post('/v1/captures/:id/refunds', async (req, res) => {
    const { id } = validate.id({ id: param(req, 'id') });
    const { amount } = validate.amount(req.body);
    await once(req, res, 'refund', async (tx) => {
      const found = await tx.query<{ authorization_id: string; amount: number; amount_refunded: number }>(
        'SELECT authorization_id, amount, amount_refunded FROM captures WHERE capture_id = $1 FOR UPDATE',
        [id],
      );
      const capture = found.rows[0];
      if (capture === undefined) return NOT_FOUND;
      if (capture.amount_refunded + amount > capture.amount) {
        return { status: 422, body: { error: 'amount_exceeds_capture', refundable: capture.amount - capture.amount_refunded } };
      }
      const refundId = uuidv7();
      await tx.query('INSERT INTO refunds (refund_id, capture_id, amount) VALUES ($1, $2, $3)', [refundId, id, amount]);
      await tx.query('UPDATE captures SET amount_refunded = amount_refunded + $2 WHERE capture_id = $1', [id, amount]);
      await tx.query(
        'UPDATE authorizations SET amount_refunded = amount_refunded + $2, updated_at = now() WHERE authorization_id = $1',
        [capture.authorization_id, amount],
      );
      return { status: 201, body: { refund_id: refundId, capture_id: id, amount, status: 'succeeded' } };
    });
  });

  app.post('/v1/risk-assessments', async (req, res) => {
    const { token } = validate.risk(req.body);
    if (token === SandboxToken.timeout) {
      hang(res);
      return;
    }
    await pause();
    res.json({ token_last4: token.slice(-4), risk_level: riskOf(token) });
  });

  app.use(routeNotFound);
  app.use(problemHandler(logger));
  return { app, hanging };
}
