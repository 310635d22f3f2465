import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../platform/logger.js';
import { Problem, problems } from '../platform/problem.js';
import type { PlacementRoute } from './placementRoute.js';

const BODY_LIMIT = 1024 * 1024;
const JSON_TYPE = /^application\/json\s*(?:;\s*charset=(?:"?utf-8"?))?\s*$/i;

/**
 * The hot write, `POST /api/v1/orders` with a JSON body of a declared length, answered on node:http
 * directly: the body is read and parsed once and goes to the same placement route as the express app's,
 * without express's routing, body parsing and response machinery. Anything else (another route, a
 * chunked or oversized body, another media type) returns false and goes to the express app, which
 * answers every case the contract describes.
 */
export function createFastPlacement(
  route: PlacementRoute,
  logger: Logger,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== '/api/v1/orders') return false;
    const length = Number(req.headers['content-length'] ?? Number.NaN);
    if (!Number.isInteger(length) || length <= 0 || length > BODY_LIMIT || req.headers['transfer-encoding'] !== undefined)
      return false;
    if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) return false;
    const key = req.headers['idempotency-key'];
    if (Array.isArray(key)) return false;

    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (error) {
        answerProblem(res, problems.malformedJson(error instanceof Error ? error.message : 'Unexpected token'), req.url ?? '');
        return;
      }
      route({ method: 'POST', path: '/api/v1/orders', url: '/api/v1/orders', body, idempotencyKey: key }).then(
        ({ response, replayed }) => {
          const payload = JSON.stringify(response.body);
          const headers: Record<string, string | number> = { ...response.headers, 'Content-Length': Buffer.byteLength(payload) };
          const type = response.headers['Content-Type'] ?? 'application/json';
          headers['Content-Type'] = type.includes('charset') ? type : `${type}; charset=utf-8`;
          if (replayed) headers['Idempotent-Replayed'] = 'true';
          res.writeHead(response.status, headers);
          res.end(payload);
        },
        (error: unknown) => {
          if (error instanceof Problem && error.status < 500) {
            answerProblem(res, error, req.url ?? '');
            return;
          }
          logger.error({ err: error, method: 'POST', path: '/api/v1/orders' }, 'request failed');
          answerProblem(res, error instanceof Problem ? error : problems.internal(), req.url ?? '');
        },
      );
    });
    return true;
  };
}

function answerProblem(res: ServerResponse, problem: Problem, instance: string): void {
  const payload = JSON.stringify(problem.toBody(instance));
  res.writeHead(problem.status, {
    'Content-Type': 'application/problem+json; charset=utf-8',
    'Content-Length': Buffer.byteLength(payload),
  });
  res.end(payload);
}
