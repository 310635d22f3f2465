import { pino, type DestinationStream, type Logger } from 'pino';
import { logBindings } from './traceScope.js';

export type { Logger };

/**
 * pino JSON logs, one logger per process named after its service; card tokens never reach a log line.
 * Every line written while a request or a consumed event is being handled carries its `correlation_id`
 * and `trace_id` (platform/traceScope, through pino's mixin), so one order can be followed across processes.
 * `destination`: somewhere else than stdout (npm start's pretty console).
 */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const options = {
    name: service,
    level,
    base: { service, pid: process.pid },
    redact: {
      paths: ['payment_method.token', '*.payment_method.token', 'req.headers.authorization'],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: logBindings,
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
