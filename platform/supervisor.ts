import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import type { Readable } from 'node:stream';
import type { Logger } from './logger.js';
import { SERVICE_NODE_FLAGS } from './nodeProcess.js';

export interface ServiceSpec {
  readonly name: string;
  /** The compiled entry point, run with this Node binary. */
  readonly script: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Scheduling niceness (0 to 19): background work yields the CPU to the API under load. */
  readonly nice?: number;
}

interface Running {
  readonly spec: ServiceSpec;
  child: ChildProcess | undefined;
  restarts: number;
  startedAt: number;
}

/**
 * Runs each service as its own Node process, restarts one that dies (backoff 0.5 s doubling to 30 s,
 * reset after a minute of good health), and on stop() sends SIGTERM to all and waits for them
 * (SIGKILL after 15 s). Children write their pino JSON logs straight to our stdout, or through
 * `print` (npm start's human-readable console on a terminal).
 */
export class Supervisor {
  private readonly running = new Map<string, Running>();
  private stopping = false;

  /**
   * @param nodeArgs extra Node flags for every service process (OMS_NODE_ARGS, e.g. `--cpu-prof
   *   --cpu-prof-dir=/tmp/prof` to profile each service; Node refuses those in NODE_OPTIONS).
   */
  constructor(
    private readonly logger: Logger,
    private readonly nodeArgs: readonly string[] = [],
    private readonly print?: (output: Readable) => void,
  ) {}

  start(specs: readonly ServiceSpec[]): void {
    for (const spec of specs) {
      const entry: Running = { spec, child: undefined, restarts: 0, startedAt: 0 };
      this.running.set(spec.name, entry);
      this.launch(entry);
    }
  }

  private launch(entry: Running): void {
    const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, ...this.nodeArgs, entry.spec.script], {
      stdio: ['ignore', this.print === undefined ? 'inherit' : 'pipe', this.print === undefined ? 'inherit' : 'pipe'],
      env: { ...process.env, ...entry.spec.env },
    });
    entry.child = child;
    if (this.print !== undefined && child.stdout !== null && child.stderr !== null) {
      this.print(child.stdout);
      this.print(child.stderr);
    }
    entry.startedAt = Date.now();
    if (entry.spec.nice !== undefined && entry.spec.nice > 0 && child.pid !== undefined) {
      try {
        setPriority(child.pid, entry.spec.nice);
      } catch (error) {
        this.logger.warn({ child: entry.spec.name, err: error }, 'could not lower the priority');
      }
    }
    this.logger.info({ child: entry.spec.name, child_pid: child.pid }, 'service started');
    child.on('exit', (code, signal) => {
      entry.child = undefined;
      if (this.stopping) return;
      if (Date.now() - entry.startedAt > 60_000) entry.restarts = 0;
      const delay = Math.min(500 * 2 ** entry.restarts, 30_000);
      entry.restarts++;
      this.logger.error({ child: entry.spec.name, code, signal, restart_in_ms: delay }, 'service exited; restarting');
      setTimeout(() => !this.stopping && this.launch(entry), delay);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const exits = [...this.running.values()].map(({ spec, child }) => {
      if (child === undefined || child.exitCode !== null) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const kill = setTimeout(() => {
          this.logger.warn({ child: spec.name }, 'service did not stop in 15 s; killing');
          child.kill('SIGKILL');
        }, 15_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      });
    });
    await Promise.all(exits);
  }
}
