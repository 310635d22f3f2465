import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * What every command-line tool shares (replay, dead-letters, keys, bench): arguments parsed by
 * node:util parseArgs (strict: an unknown option or a missing value is an error naming it), `--help`,
 * and progress drawn only on a terminal.
 */
export type CliOptions = NonNullable<ParseArgsConfig['options']>;

export type ParsedCommandLine<O extends CliOptions> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
>;

/**
 * Parses `argv` against `options` (plus `--help` / `-h`). Answers the values and positionals, or the
 * exit code when the tool should stop: 0 after printing the usage for --help, 2 after an error.
 */
export function parseCommandLine<O extends CliOptions>(
  tool: string,
  argv: readonly string[],
  options: O,
  usage: string,
): ParsedCommandLine<O> | { readonly exitCode: number } {
  let parsed: ParsedCommandLine<O>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }) as ParsedCommandLine<O>;
  } catch (error) {
    console.error(`${tool}: ${(error as Error).message}\n${usage}`);
    return { exitCode: 2 };
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    console.log(usage);
    return { exitCode: 0 };
  }
  return parsed;
}

export function stopped<O extends CliOptions>(
  parsed: ParsedCommandLine<O> | { readonly exitCode: number },
): parsed is { readonly exitCode: number } {
  return 'exitCode' in parsed;
}

/**
 * The whole-number options among `values` (given as text), each checked against `min`: the numbers, or
 * the first refusal to print ("--rate must be a whole number from 1 (got "x")").
 */
export function wholeNumbers<K extends string>(
  values: Readonly<Partial<Record<K, unknown>>>,
  names: readonly K[],
  min: number,
): { readonly numbers: Partial<Record<K, number>> } | { readonly error: string } {
  const numbers: Partial<Record<K, number>> = {};
  for (const name of names) {
    const text = values[name];
    if (typeof text !== 'string') continue;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) return { error: `--${name} must be a whole number from ${min} (got "${text}")` };
    numbers[name] = value;
  }
  return { numbers };
}

/**
 * A progress line for a long run: redrawn in place at most four times a second on a terminal; on
 * anything else (a CI log, a pipe) one plain line every `plainEveryMs` and the last one, so logs stay
 * readable.
 */
export function progressLine(
  stream: NodeJS.WriteStream = process.stderr,
  plainEveryMs = 10_000,
): {
  update(text: string, last?: boolean): void;
  done(): void;
} {
  const tty = stream.isTTY === true;
  let shownAt = -Infinity;
  let drawn = false;
  return {
    update(text, last = false) {
      const now = performance.now();
      if (!last && now - shownAt < (tty ? 250 : plainEveryMs)) return;
      shownAt = now;
      if (tty) {
        stream.write(`\r\u001b[2K${text}`);
        drawn = true;
      } else stream.write(`${text}\n`);
    },
    done() {
      if (tty && drawn) stream.write('\n');
      drawn = false;
    },
  };
}
