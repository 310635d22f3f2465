import http from 'node:http';
import fc from 'fast-check';
import { fingerprintChanges, fingerprintStatement, takeFingerprint } from './fingerprint.js';
import type { FuzzSystem, ServiceProcess } from './system.js';
import { fuzzRequests, type FuzzRequest } from './targets.js';

export interface FuzzOptions {
  readonly runs: number;
  readonly seed: number;
  /** How long one request may go unanswered before it counts as a violation. */
  readonly timeoutMs?: number;
  /** Print every request and its answer, not only the summary and the violations. */
  readonly verbose?: boolean;
  readonly log: (line: string) => void;
}

export interface FuzzAnswer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
  readonly ms: number;
}

export interface Violation {
  readonly kind: 'server-error' | 'no-answer' | 'not-problem-json' | 'changed-on-refusal' | 'process-exited';
  readonly request: FuzzRequest | undefined;
  readonly detail: string;
}

export interface FuzzReport {
  readonly seed: number;
  readonly sent: number;
  /** Per target: how many were sent, and how many answered with each status class. */
  readonly byTarget: ReadonlyMap<string, Record<'sent' | '2xx' | '3xx' | '4xx' | '5xx' | 'none', number>>;
  readonly violations: readonly Violation[];
  /** Accepted requests (2xx, 3xx) after which the business tables differed: the check can see a change. */
  readonly acceptedChanges: number;
}

/**
 * Sends `runs` generated requests (fast-check, `seed`) one at a time and checks after each: no answer
 * of 500 or more, an answer at all (within the timeout), problem+json for every refusal of the public
 * API (contract §2), no service process gone, and — when the answer is a refusal (4xx) — the business
 * tables exactly as they were before the request.
 */
export async function runFuzz(system: FuzzSystem, options: FuzzOptions): Promise<FuzzReport> {
  const requests = fc.sample(fuzzRequests(system.context), { seed: options.seed, numRuns: options.runs });
  const statement = await fingerprintStatement(system.pool, system.schemas);
  const byTarget = new Map<string, Record<'sent' | '2xx' | '3xx' | '4xx' | '5xx' | 'none', number>>();
  const violations: Violation[] = [];
  let acceptedChanges = 0;
  const say = options.log;
  say(`fuzz: seed ${options.seed}, ${requests.length} requests to ${Object.keys(system.services).join(', ')}`);

  let before = await takeFingerprint(system.pool, statement);
  for (const [index, request] of requests.entries()) {
    const counts = byTarget.get(request.target) ?? { sent: 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, none: 0 };
    byTarget.set(request.target, counts);
    counts.sent++;
    const service = system.services[request.service];
    const logged = service.lines.length;
    let answer: FuzzAnswer | undefined;
    try {
      // The API's requests authenticate (contract §8) unless the generated request names its own Authorization.
      const sent =
        request.service === 'api' && request.headers.Authorization === undefined
          ? { ...request, headers: { Authorization: `Bearer ${system.apiKey}`, ...request.headers } }
          : request;
      answer = await send(service.url, sent, options.timeoutMs ?? 10_000);
    } catch (error) {
      counts.none++;
      violations.push({ kind: 'no-answer', request, detail: `${String(error)}${serviceLog(service, logged)}` });
    }
    if (answer !== undefined) {
      const kind = answer.status >= 500 ? '5xx' : answer.status >= 400 ? '4xx' : answer.status >= 300 ? '3xx' : '2xx';
      counts[kind]++;
      if (options.verbose)
        say(
          `#${index} ${describe(request)} → ${answer.status} ${answer.contentType ?? ''} ${answer.ms} ms ${answer.body.slice(0, 200)}`,
        );
      if (answer.status >= 500) {
        violations.push({
          kind: 'server-error',
          request,
          detail: `${answer.status} ${answer.body.slice(0, 500)}${serviceLog(service, logged)}`,
        });
      } else if (
        answer.status >= 400 &&
        request.service === 'api' &&
        request.method !== 'HEAD' &&
        !/^application\/problem\+json/.test(answer.contentType ?? '')
      ) {
        violations.push({
          kind: 'not-problem-json',
          request,
          detail: `${answer.status} ${answer.contentType ?? 'no Content-Type'}: ${answer.body.slice(0, 200)}`,
        });
      }
    }
    const after = await takeFingerprint(system.pool, statement);
    const changes = fingerprintChanges(before, after);
    if (answer === undefined || answer.status >= 400) {
      if (changes.length > 0) violations.push({ kind: 'changed-on-refusal', request, detail: changes.join('; ') });
    } else if (changes.length > 0) acceptedChanges++;
    before = after;
    const exited = Object.values(system.services).find((s) => s.child.exitCode !== null || s.child.signalCode !== null);
    if (exited !== undefined) {
      violations.push({
        kind: 'process-exited',
        request,
        detail: `${exited.name} exited (${exited.child.exitCode ?? exited.child.signalCode})${serviceLog(exited, logged)}`,
      });
      break;
    }
  }
  // Still up at the end, each answering its health check.
  for (const service of Object.values(system.services)) {
    const status = await fetch(`${service.url}/health`).then(
      (r) => r.status,
      () => 0,
    );
    if (status !== 200)
      violations.push({
        kind: 'process-exited',
        request: undefined,
        detail: `${service.name} /health answered ${status} after the run`,
      });
  }

  const report: FuzzReport = { seed: options.seed, sent: requests.length, byTarget, violations, acceptedChanges };
  printReport(report, say);
  return report;
}

/** One request over node:http (its headers exactly as generated, no client defaults), answered or timed out. */
function send(baseUrl: string, request: FuzzRequest, timeoutMs: number): Promise<FuzzAnswer> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const body =
      request.body === undefined ? undefined : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body, 'utf8');
    const headers: Record<string, string | number> = { ...request.headers };
    if (body !== undefined && !request.chunked) headers['Content-Length'] = body.length;
    const req = http.request(`${baseUrl}${request.path}`, { method: request.method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'],
          body: Buffer.concat(chunks).toString('utf8'),
          ms: Date.now() - started,
        }),
      );
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body !== undefined && request.chunked) {
      // Two chunks: a parser must put them together.
      const half = Math.floor(body.length / 2);
      req.write(body.subarray(0, half));
      req.end(body.subarray(half));
    } else req.end(body);
  });
}

/** What the service logged at error level since the request went out (its stack tells where to look). */
function serviceLog(service: ServiceProcess, from: number): string {
  const errors = service.lines
    .slice(from)
    .filter((l) => typeof l === 'string' || Number(l.level ?? 0) >= 50)
    .map((l) =>
      typeof l === 'string'
        ? l
        : `${String(l.msg)}: ${JSON.stringify((l.err as { message?: unknown } | undefined)?.message ?? '')}`,
    );
  return errors.length === 0 ? '' : `\n    ${service.name} logged: ${errors.slice(0, 5).join('\n    ')}`;
}

export function describe(request: FuzzRequest): string {
  const body =
    request.body === undefined
      ? ''
      : Buffer.isBuffer(request.body)
        ? ` <${request.body.length} bytes: ${request.body.toString('hex').slice(0, 40)}…>`
        : ` ${excerpt(request.body)}`;
  const headers = Object.entries(request.headers)
    .map(([k, v]) => `${k}: ${excerpt(v, 60)}`)
    .join(', ');
  return `${request.service} ${request.method} ${excerpt(request.path, 160)}${headers === '' ? '' : ` [${headers}]`}${request.chunked ? ' (chunked)' : ''}${body}`;
}

function excerpt(text: string, max = 300): string {
  const shown = JSON.stringify(text.length > max ? `${text.slice(0, max)}` : text);
  return text.length > max ? `${shown}…(${text.length} chars)` : shown;
}

function printReport(report: FuzzReport, say: (line: string) => void): void {
  const rows = [...report.byTarget.entries()].sort(([a], [b]) => a.localeCompare(b));
  const width = Math.max(...rows.map(([name]) => name.length), 6);
  const columns = ['sent', '2xx', '3xx', '4xx', '5xx', 'none'] as const;
  say(`${'target'.padEnd(width)}  ${columns.map((c) => c.padStart(5)).join(' ')}`);
  for (const [name, counts] of rows) say(`${name.padEnd(width)}  ${columns.map((c) => String(counts[c]).padStart(5)).join(' ')}`);
  say(
    `${report.sent} requests sent (seed ${report.seed}); ${report.acceptedChanges} accepted ones changed the database; ${report.violations.length} violation(s)`,
  );
  for (const v of report.violations) {
    say(`VIOLATION ${v.kind}: ${v.request === undefined ? '(after the run)' : describe(v.request)}`);
    say(`    ${v.detail}`);
  }
}
