import http from 'node:http';
import { partnerHeaders } from './traceScope.js';

/** A partner's answer: its status and its body as text. */
export interface PartnerAnswer {
  readonly status: number;
  readonly text: string;
}

/** The call got no answer: the connection failed, or the partner did not answer in time. */
export class PartnerCallFailed extends Error {
  constructor(
    message: string,
    /** No answer within the call's time (rather than a connection that failed). */
    readonly timedOut = false,
  ) {
    super(message);
    this.name = 'PartnerCallFailed';
  }
}

/** The socket's own timeout comes this long after the call's: the caller's breaker gives up first. */
const BREAKER_FIRST_MS = 50;

/**
 * One HTTP call to a partner (PSP, carrier) on a keep-alive connection of `agent`: node:http rather
 * than fetch, whose web streams cost a fifth of a saga worker's CPU and a quarter of the tracker's on
 * this machine. Carries the order's traceparent and X-Request-Id when made for one
 * (platform/traceScope). Answers whatever status came; rejects with PartnerCallFailed when none did
 * within `timeoutMs` and a little (the callers' breakers, on `timeoutMs`, give up first; this frees the socket).
 */
export function callPartner(
  agent: http.Agent,
  url: URL,
  method: string,
  options: { readonly body?: unknown; readonly headers?: Readonly<Record<string, string>>; readonly timeoutMs: number },
): Promise<PartnerAnswer> {
  const headers: Record<string, string> = { ...partnerHeaders(), ...options.headers };
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  if (payload !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(payload));
  }
  return new Promise<PartnerAnswer>((resolve, reject) => {
    const request = http.request(url, { method, headers, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (error) => reject(new PartnerCallFailed(error.message)));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    request.setTimeout(options.timeoutMs + BREAKER_FIRST_MS, () =>
      request.destroy(new PartnerCallFailed('call timed out', true)),
    );
    request.on('error', (error) => reject(error instanceof PartnerCallFailed ? error : new PartnerCallFailed(error.message)));
    request.end(payload);
  });
}
