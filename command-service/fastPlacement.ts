import type { IncomingMessage, ServerResponse } from 'node:http';
import { principalOf } from '../platform/authentication.js';
import type { Logger } from '../platform/logger.js';
import { logRefusal, problemFor } from '../platform/http.js';
import { problems } from '../platform/problem.js';
import { inTraceOf } from '../platform/requestTrace.js';
import type { StoredResponse } from '../platform/idempotency.js';
import type { PlacementRoute } from './placementRoute.js';
import { problemAnswer } from './runCommand.js';

const ORDERS_PATH = '/api/v1/orders';
const BODY_LIMIT = 1024 * 1024;
const JSON_TYPE = /^application\/json\s*(?:;\s*charset=(?:"?utf-8"?))?\s*$/i;

/**
 * The hot write, `POST /api/v1/orders` with a JSON body of a declared length, answered on node:http
 * directly: the body is read and parsed once and goes to the same placement route as the express app's,
 * without express's routing, body parsing and response machinery. Anything else (another route, a
 * chunked, compressed or oversized body, another media type) returns false and goes to the express app, which
 * answers every case the contract describes.
 */
export function createFastPlacement(
  route: PlacementRoute,
  logger: Logger,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== ORDERS_PATH) return false;
    const length = Number(req.headers['content-length'] ?? Number.NaN);
    if (!Number.isInteger(length) || length <= 0 || length > BODY_LIMIT || req.headers['transfer-encoding'] !== undefined)
      return false;
    if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) return false;
    // A compressed body is express's to inflate (or refuse, 415): read here it was taken for malformed JSON.
    if (req.headers['content-encoding'] !== undefined) return false;
    const key = req.headers['idempotency-key'];
    if (Array.isArray(key)) return false;
    // The authentication gate in front admitted it (without one, the express app refuses with 401).
    const principal = principalOf(req);
    if (principal === undefined) return false;

    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (error) {
        const problem = problems.malformedJson(error instanceof Error ? error.message : 'Unexpected token');
        writeAnswer(res, problemAnswer(problem, ORDERS_PATH), false);
        return;
      }
      // Back in the request's trace scope (the body's `end` comes from the socket's context).
      inTraceOf(req, () =>
        route({ method: 'POST', path: ORDERS_PATH, url: ORDERS_PATH, body, idempotencyKey: key, principal }),
      ).then(
        ({ response, replayed }) => writeAnswer(res, response, replayed),
        (error: unknown) => {
          const problem = problemFor(error);
          logRefusal(logger, error, problem, 'POST', ORDERS_PATH);
          writeAnswer(res, problemAnswer(problem, ORDERS_PATH), false);
        },
      );
    });
    return true;
  };
}

/** Writes an answer as the express app would: JSON (or problem+json) in UTF-8, its headers, the replay mark. */
function writeAnswer(res: ServerResponse, answer: StoredResponse, replayed: boolean): void {
  const payload = JSON.stringify(answer.body);
  const type = answer.headers['Content-Type'] ?? 'application/json';
  const headers: Record<string, string | number> = {
    ...answer.headers,
    'Content-Type': type.includes('charset') ? type : `${type}; charset=utf-8`,
    'Content-Length': Buffer.byteLength(payload),
  };
  if (replayed) headers['Idempotent-Replayed'] = 'true';
  res.writeHead(answer.status, headers);
  res.end(payload);
}
