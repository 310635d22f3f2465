import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The checkout's root (this file is dist/platform/nodeProcess.js once built). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The Node flags every service process runs with: source maps for stack traces, and AsyncLocalStorage
 * on AsyncContextFrame. The correlation scope (platform/traceScope) is an AsyncLocalStorage; on Node 22
 * it is otherwise carried by promise hooks, which made promise-heavy code about 3.7× slower in a
 * micro-benchmark (20,000 awaits × 100: 811 ms without a store, 3,016 ms with one, 922 ms with this
 * flag). Node 24 makes it the default.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = Object.freeze([
  '--enable-source-maps',
  // Known from Node 22.7 (the project's own Node is 22.23, engines ≥ 22.12); a Node started by hand
  // that lacks it runs without it rather than refusing to start.
  ...(process.allowedNodeEnvironmentFlags.has('--experimental-async-context-frame')
    ? ['--experimental-async-context-frame']
    : []),
]);

export interface RunningProcess {
  readonly child: ChildProcess;
  /** Every stdout and stderr line so far; pino JSON lines parsed. */
  readonly lines: Array<Record<string, unknown> | string>;
  /** Resolves with the exit code (or signal) once the process exits. */
  readonly exited: Promise<number | string>;
}

/**
 * Starts `node [nodeArgs, by default SERVICE_NODE_FLAGS] <script> [args]` from the build (a path under the checkout, e.g.
 * dist/api/main.js) with the given environment on top of this process's, collecting its output.
 */
export function startNode(
  script: string,
  env: Record<string, string>,
  options: { args?: readonly string[]; nodeArgs?: readonly string[] } = {},
): RunningProcess {
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? SERVICE_NODE_FLAGS), `${repoRoot}${script}`, ...(options.args ?? [])],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
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
