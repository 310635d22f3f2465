import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export { freePort, freePorts } from '../../platform/http.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** A port nothing listens on right now. */

export interface RunningProcess {
  readonly child: ChildProcess;
  /** Every stdout line so far; pino JSON lines parsed. */
  readonly lines: Array<Record<string, unknown> | string>;
  /** Resolves with the exit code (or signal) once the process exits. */
  readonly exited: Promise<number | string>;
}

/** Starts `node <script> [args]` from the build with the given environment, collecting its output. */
export function startNode(script: string, env: Record<string, string>, args: readonly string[] = []): RunningProcess {
  const child = spawn(process.execPath, [`${repoRoot}${script}`, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: RunningProcess['lines'] = [];
  let buffered = '';
  const collect = (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push(line);
      }
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, lines, exited };
}
