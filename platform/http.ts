import http from 'node:http';
import { createServer } from 'node:net';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from './logger.js';
import { isDataError, Problem, problems } from './problem.js';

export const JSON_BODY_LIMIT = '1mb';

/** Sends a problem+json response. */
export function sendProblem(res: Response, problem: Problem, instance?: string): void {
  res
    .status(problem.status)
    .type('application/problem+json')
    .send(JSON.stringify(problem.toBody(instance)));
}

/**
 * Parses JSON bodies up to 1 MiB. A body of another media type is refused with 415 rather than
 * silently ignored; an empty body is left undefined for the schema to report.
 */
export function jsonBody(): RequestHandler[] {
  const parse = express.json({
    limit: JSON_BODY_LIMIT,
    strict: false,
    type: ['application/json', 'application/*+json'],
    // The bytes as sent, for a route that checks a signature over them (rawBodyOf).
    verify: (req, _res, buf) => {
      (req as { rawBody?: Buffer }).rawBody = buf;
    },
  });
  const requireJson: RequestHandler = (req, _res, next) => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody && !req.is(['application/json', 'application/*+json'])) {
      next(problems.unsupportedMediaType(req.headers['content-type'] ?? 'a body without Content-Type'));
      return;
    }
    next();
  };
  return [requireJson, parse];
}

/** The body of a JSON request as it arrived ('' without one). */
export function rawBodyOf(req: http.IncomingMessage): string {
  return (req as { rawBody?: Buffer }).rawBody?.toString('utf8') ?? '';
}

interface BodyParserError {
  readonly type?: string;
  readonly status?: number;
  readonly message?: string;
}

/** Turns anything thrown into problem+json; only unexpected errors are 500s, and they are logged. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const problem = problemFor(error);
    logRefusal(logger, error, problem, req.method, req.path);
    sendProblem(res, problem, req.originalUrl);
  };
}

/** Logs what a client should not have met: a 500 as an error, a value only the database refused as a warning (a schema let it through). */
export function logRefusal(logger: Logger, error: unknown, problem: Problem, method: string, path: string): void {
  if (problem.status >= 500) logger.error({ err: error, method, path }, 'request failed');
  else if (isDataError(error))
    logger.warn({ err: error, method, path }, 'request refused by the database; validation let it through');
}

/** The problem an error answers as, on every server (express apps and the node:http fast paths). */
export function problemFor(error: unknown): Problem {
  if (error instanceof Problem) return error;
  if (isDataError(error)) return problems.invalidValue();
  const parserError = error as BodyParserError;
  switch (parserError?.type) {
    case 'entity.parse.failed':
      return problems.malformedJson(parserError.message ?? 'Unexpected token');
    case 'entity.too.large':
      return problems.payloadTooLarge(JSON_BODY_LIMIT.replace('mb', ' MiB'));
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return problems.unsupportedMediaType(parserError.message ?? 'that encoding');
    case 'request.aborted':
      return new Problem(400, 'request-aborted', 'Request aborted', 'The client closed the request.');
    default:
      if (typeof parserError?.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
        return new Problem(parserError.status, 'bad-request', 'Bad request', parserError.message ?? 'Bad request');
      }
      return problems.internal();
  }
}

export const routeNotFound: RequestHandler = (req, _res, next) => {
  next(problems.routeNotFound(req.method, req.path));
};

/** The single place a route reads a path parameter: express 5 types them as string | string[]. */
export function param(req: Request, name: string): string {
  const value = (req.params as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value.join('/') : (value ?? '');
}

/**
 * Starts an HTTP server for a request handler (an express app is one) and resolves with the bound port
 * (0 picks a free one, as tests do).
 */
/** A server whose stop drains: see drainingServer. */
export interface DrainingServer {
  readonly server: http.Server;
  /**
   * Stops taking connections, answers requests that still arrive on open connections 503 (with
   * `Connection: close` and `Retry-After`), waits for the requests in flight to be answered (at most
   * `timeoutMs`), then closes every connection.
   */
  drain(timeoutMs?: number): Promise<void>;
}

/**
 * An HTTP server that counts the requests it is answering, so a SIGTERM lets each of them finish (a
 * placement waiting for its group commit is answered once the flush commits) instead of cutting it off.
 */
export function drainingServer(handler: http.RequestListener): DrainingServer {
  let inFlight = 0;
  let draining = false;
  let idle: (() => void) | undefined;
  const server = http.createServer((req, res) => {
    if (draining) {
      const body = JSON.stringify(problems.unavailable('the service is stopping; send the request again').toBody(req.url));
      res.writeHead(503, { 'Content-Type': 'application/problem+json', Connection: 'close', 'Retry-After': '1' });
      res.end(body);
      return;
    }
    inFlight++;
    res.once('close', () => {
      if (--inFlight === 0) idle?.();
    });
    handler(req, res);
  });
  server.keepAliveTimeout = 65_000;
  return {
    server,
    async drain(timeoutMs = 8_000) {
      draining = true;
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await new Promise<void>((done) => {
          const timer = setTimeout(done, timeoutMs);
          idle = () => {
            clearTimeout(timer);
            done();
          };
        });
      }
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Listens and resolves with the bound port (0 picks a free one). */
export async function listenOn(server: http.Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : port;
}

/** A draining server for `handler`, listening; `close` drains it. */
export async function listen(
  handler: http.RequestListener,
  host: string,
  port: number,
): Promise<{ port: number; close: () => Promise<void> }> {
  const draining = drainingServer(handler);
  return { port: await listenOn(draining.server, host, port), close: () => draining.drain() };
}

/** A TCP port nothing listens on right now (for tests and benchmarks that start servers). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Several ports nothing listens on right now. */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort());
  return ports;
}
