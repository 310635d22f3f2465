import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * pino JSON logs, one logger per process named after its service; card tokens never reach a log line.
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
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
