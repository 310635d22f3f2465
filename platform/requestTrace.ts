import type http from 'node:http';
import { principalOf } from './authentication.js';
import type { EventActor } from './eventEnvelope.js';
import type { Logger } from './logger.js';
import { metrics } from './metrics.js';
import { continueTrace, correlationIdOf, parseRequestId } from './traceparent.js';
import { inRequestScope, type RequestTrace } from './traceScope.js';

export const REQUEST_ID_HEADER = 'X-Request-Id';

export interface RequestTraceOptions {
  readonly logger: Logger;
  /** The route a path is logged as (a template, so ids do not scatter it); the path itself by default. */
  readonly route?: (path: string) => string;
  /** Also observe each answer in oms_http_request_duration_seconds by method, route and status (the API's edge). */
  readonly metrics?: boolean;
}

const traces = new WeakMap<http.IncomingMessage, RequestTrace>();

const pathOf = (url: string) => {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
};

/**
 * The edge of every HTTP server (the API, the command and query services alone, the sandboxes): takes
 * an incoming `traceparent` when it parses (continued by a span of ours) or starts a trace, takes an
 * `X-Request-Id` as the correlation id when acceptable (else the trace id), answers it in
 * `X-Request-Id`, runs the request in its trace scope (so its log lines and the events it writes carry
 * it) and logs one access line when the answer is sent, as pino-http does: method, route, status,
 * duration, correlation id (and, with `metrics`, observes the same answer in the request histogram).
 */
export function traceRequests(handler: http.RequestListener, options: RequestTraceOptions): http.RequestListener {
  const { logger } = options;
  const route = options.route ?? pathOf;
  return (req, res) => {
    const started = performance.now();
    const trace = continueTrace(Array.isArray(req.headers.traceparent) ? req.headers.traceparent[0] : req.headers.traceparent);
    const correlationId = correlationIdOf(parseRequestId(req.headers['x-request-id']), trace);
    const actor = (): EventActor | null => {
      const principal = principalOf(req);
      return principal === undefined ? null : { kind: 'api_key', key_id: principal.keyId, channel: principal.channel };
    };
    const requestTrace: RequestTrace = { correlationId, trace, actor };
    traces.set(req, requestTrace);
    res.setHeader(REQUEST_ID_HEADER, correlationId);
    res.once('finish', () => {
      const principal = principalOf(req);
      const url = req.url ?? '/';
      const ms = performance.now() - started;
      const template = route(url);
      if (options.metrics === true)
        metrics.httpRequestDuration.observe({ method: req.method ?? 'GET', route: template, status: res.statusCode }, ms / 1000);
      // Probes (health, metrics) every few seconds would bury the requests: they log at debug.
      (url.startsWith('/health') || url.startsWith('/metrics') ? logger.debug : logger.info).call(
        logger,
        {
          correlation_id: correlationId,
          trace_id: trace.traceId,
          request_id: correlationId,
          req: { method: req.method, route: template },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(ms * 10) / 10,
          ...(principal === undefined ? {} : { key_id: principal.keyId }),
        },
        'request completed',
      );
    });
    inRequestScope(requestTrace, () => handler(req, res));
  };
}

/**
 * Runs `work` in the request's trace scope again. A stream's events (a body's `data` and `end`) are
 * emitted from the socket's context, not the request's: what runs after a body was read (express's
 * routes behind its body parser, the fast path's `end` listener) is put back into the request's scope here.
 */
export function inTraceOf<T>(req: http.IncomingMessage, work: () => T): T {
  const trace = traces.get(req);
  return trace === undefined ? work() : inRequestScope(trace, work);
}

/** The same as an express middleware, placed after the body parser. */
export function rejoinTraceScope(req: http.IncomingMessage, _res: http.ServerResponse, next: () => void): void {
  inTraceOf(req, next);
}
