import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import PinoPretty from 'pino-pretty';

const OPTIONS = {
  colorize: true,
  translateTime: 'SYS:HH:MM:ss.l',
  ignore: 'pid,hostname,name,service',
  singleLine: true,
  messageFormat: '{service} | {msg}',
} as const;

/** Log format of `npm start`'s console: LOG_FORMAT `pretty` or `json`, else pretty on a terminal only. */
export function wantsPrettyLogs(setting: string, stdoutIsTty: boolean): boolean {
  if (setting === 'pretty') return true;
  if (setting === 'json') return false;
  return stdoutIsTty;
}

/** A pino destination that prints human-readable lines (the supervisor's own logger). */
export function prettyDestination(): NodeJS.WritableStream {
  return PinoPretty({ ...OPTIONS, destination: 1 });
}

/**
 * Prints a child's pino JSON output human-readable, line by line (a line is never cut in two by
 * another child's); a line that is not JSON is printed as it came.
 */
export function printPretty(output: Readable, to: NodeJS.WritableStream = process.stdout): void {
  const prettify = PinoPretty.prettyFactory(OPTIONS);
  createInterface({ input: output, crlfDelay: Infinity }).on('line', (line) => {
    to.write(prettify(line));
  });
}
