import { pino, type Logger } from 'pino';

export type { Logger };

/** pino JSON logs, one logger per process named after its service; card tokens never reach a log line. */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name: service,
    level,
    base: { service, pid: process.pid },
    redact: {
      paths: ['payment_method.token', '*.payment_method.token', 'req.headers.authorization'],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
