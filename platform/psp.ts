import http from 'node:http';
import CircuitBreaker from 'opossum';
import { callPartner, PartnerCallFailed, type PartnerAnswer } from './partnerHttp.js';
import { observeBreaker } from './metrics.js';

/** The PSP could not give an answer (timeout, breaker open, network, 5xx): the outcome is unknown. */
export class PspUnavailable extends Error {
  /** A partner outage, not the message's fault: consumers retry it without counting (domain/retryPolicy). */
  readonly transient = true;

  constructor(
    message: string,
    readonly breakerOpen: boolean,
    /** When the breaker will let a call through again, if it is open: retry then, not before. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'PspUnavailable';
  }
}

export type RiskLevel = 'normal' | 'elevated' | 'highest';

export type AuthorizeOutcome =
  | { readonly kind: 'authorized'; readonly authorizationId: string; readonly riskLevel: RiskLevel }
  | { readonly kind: 'declined'; readonly code: string };

export type VoidOutcome =
  { readonly kind: 'voided' } | { readonly kind: 'not-found' } | { readonly kind: 'refused'; readonly reason: string };

export type CaptureOutcome =
  | { readonly kind: 'captured'; readonly captureId: string; readonly amount: number }
  | { readonly kind: 'refused'; readonly reason: string };

export type RefundOutcome =
  | { readonly kind: 'refunded'; readonly refundId: string; readonly amount: number }
  | { readonly kind: 'refused'; readonly reason: string };

export interface PspAuthorization {
  readonly authorization_id: string;
  readonly reference: string;
  readonly amount: number;
  readonly status: string;
  readonly amount_captured: number;
}

interface HttpAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

class PspServerError extends Error {}

export interface PspClientOptions {
  readonly baseUrl: string;
  /** Per call; a call that takes longer fails and counts against the breaker. */
  readonly timeoutMs: number;
  /** Breaker tuning; defaults suit the sandbox. */
  readonly breaker?: Partial<CircuitBreaker.Options>;
}

/**
 * Calls the payment service provider over HTTP through one opossum circuit breaker. Business answers
 * (declined, refused) are results, not failures; only timeouts, network errors and 5xx open the
 * breaker. While it is open, calls fail at once with PspUnavailable (breakerOpen = true), and callers
 * retry later with the same Idempotency-Key.
 */
export class PspClient {
  readonly breaker: CircuitBreaker<[string, string, unknown, string | undefined], HttpAnswer>;
  private openedAt = 0;
  private readonly resetTimeoutMs: number;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  constructor(private readonly options: PspClientOptions) {
    this.resetTimeoutMs = options.breaker?.resetTimeout ?? 2_000;
    this.breaker = new CircuitBreaker(
      (method: string, path: string, body: unknown, key: string | undefined) => this.call(method, path, body, key),
      {
        timeout: options.timeoutMs,
        errorThresholdPercentage: 50,
        volumeThreshold: 4,
        resetTimeout: 2_000,
        rollingCountTimeout: 10_000,
        // Our metrics come from the breaker's events; opossum's rolling latency percentiles (a sort of
        // every latency in the window each time it looks at its stats) and snapshots cost CPU for nothing.
        rollingPercentilesEnabled: false,
        enableSnapshots: false,
        ...options.breaker,
      },
    );
    observeBreaker(this.breaker, 'psp');
    // Callers wait until the breaker lets a call through: they need to know when it opened.
    this.breaker.on('open', () => {
      this.openedAt = Date.now();
    });
  }

  async authorize(request: {
    amount: number;
    currency: string;
    token: string;
    reference: string;
    idempotencyKey: string;
  }): Promise<AuthorizeOutcome> {
    const answer = await this.fire(
      'POST',
      '/v1/authorizations',
      {
        amount: request.amount,
        currency: request.currency,
        token: request.token,
        reference: request.reference,
      },
      request.idempotencyKey,
    );
    if (answer.status === 201) {
      return {
        kind: 'authorized',
        authorizationId: String(answer.body.authorization_id),
        riskLevel: answer.body.risk_level as RiskLevel,
      };
    }
    if (answer.status === 402) return { kind: 'declined', code: String(answer.body.decline_code ?? 'declined') };
    // Any other refusal (a token or an amount the PSP does not take) will be refused again: it is final.
    if (answer.status >= 400 && answer.status < 500)
      return { kind: 'declined', code: `refused_${answer.status}_${String(answer.body.error ?? 'request')}` };
    // An answer that is neither (a 1xx–3xx the API never gives): the outcome is unknown, as without one.
    throw new PspUnavailable(`PSP answered the authorization with an unexpected ${answer.status}`, false);
  }

  /**
   * A page of the PSP's authorizations in id order (ids are UUIDv7: in time order): with a status,
   * after an id, created before a time. How our books are reconciled with the PSP's.
   */
  async listAuthorizations(page: {
    status?: string;
    after?: string;
    createdBefore?: Date;
    limit: number;
  }): Promise<Array<PspAuthorization & { readonly created_at: string }>> {
    const query = new URLSearchParams({ limit: String(page.limit) });
    if (page.status !== undefined) query.set('status', page.status);
    if (page.after !== undefined) query.set('after', page.after);
    if (page.createdBefore !== undefined) query.set('created_before', page.createdBefore.toISOString());
    const answer = await this.fire('GET', `/v1/authorizations?${query.toString()}`, undefined, undefined);
    if (answer.status !== 200) throw new Error(`PSP refused the listing: ${answer.status} ${JSON.stringify(answer.body)}`);
    return (answer.body.authorizations ?? []) as Array<PspAuthorization & { readonly created_at: string }>;
  }

  /** Authorizations made for a reference (our saga id): how an unknown outcome is resolved. */
  async authorizationsFor(reference: string): Promise<PspAuthorization[]> {
    const answer = await this.fire('GET', `/v1/authorizations?reference=${encodeURIComponent(reference)}`, undefined, undefined);
    return (answer.body.authorizations ?? []) as PspAuthorization[];
  }

  async voidAuthorization(authorizationId: string, idempotencyKey: string): Promise<VoidOutcome> {
    const answer = await this.fire('POST', `/v1/authorizations/${authorizationId}/void`, {}, idempotencyKey);
    if (answer.status === 200) return { kind: 'voided' };
    if (answer.status === 404) return { kind: 'not-found' };
    return { kind: 'refused', reason: String(answer.body.error ?? answer.status) };
  }

  /** Shrinks an authorization by `amount` (a partial reversal), releasing the card holder's funds. */
  async reverse(authorizationId: string, amount: number, idempotencyKey: string): Promise<VoidOutcome> {
    const answer = await this.fire('POST', `/v1/authorizations/${authorizationId}/reversals`, { amount }, idempotencyKey);
    if (answer.status === 201) return { kind: 'voided' };
    if (answer.status === 404) return { kind: 'not-found' };
    return { kind: 'refused', reason: String(answer.body.error ?? answer.status) };
  }

  async capture(authorizationId: string, amount: number, idempotencyKey: string): Promise<CaptureOutcome> {
    const answer = await this.fire('POST', `/v1/authorizations/${authorizationId}/captures`, { amount }, idempotencyKey);
    if (answer.status === 201) return { kind: 'captured', captureId: String(answer.body.capture_id), amount };
    return { kind: 'refused', reason: String(answer.body.error ?? answer.status) };
  }

  async refund(captureId: string, amount: number, idempotencyKey: string): Promise<RefundOutcome> {
    const answer = await this.fire('POST', `/v1/captures/${captureId}/refunds`, { amount }, idempotencyKey);
    if (answer.status === 201) return { kind: 'refunded', refundId: String(answer.body.refund_id), amount };
    return { kind: 'refused', reason: String(answer.body.error ?? answer.status) };
  }

  shutdown(): void {
    this.breaker.shutdown();
    this.agent.destroy();
  }

  private async fire(method: string, path: string, body: unknown, key: string | undefined): Promise<HttpAnswer> {
    try {
      return await this.breaker.fire(method, path, body, key);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'EOPENBREAKER') {
        // Open: until it half-opens. Half-open: one trial call is out; the others wait for its answer
        // (at most a call's timeout) instead of knocking every few milliseconds.
        const waitMs = this.breaker.halfOpen ? this.options.timeoutMs : this.openedAt + this.resetTimeoutMs - Date.now() + 20;
        throw new PspUnavailable('PSP circuit breaker is open', true, Math.max(100, waitMs));
      }
      if (code === 'ETIMEDOUT') throw new PspUnavailable(`PSP did not answer within ${this.options.timeoutMs} ms`, false);
      if (
        error instanceof PspServerError ||
        error instanceof TypeError ||
        (error as Error).name === 'AbortError' ||
        (error as Error).name === 'TimeoutError'
      ) {
        throw new PspUnavailable(`PSP unavailable: ${(error as Error).message}`, false);
      }
      throw error;
    }
  }

  /** One HTTP call on a keep-alive connection (platform/partnerHttp); a 5xx, no answer or a body not JSON: PspServerError. */
  private async call(method: string, path: string, body: unknown, key: string | undefined): Promise<HttpAnswer> {
    let answer: PartnerAnswer;
    try {
      answer = await callPartner(this.agent, new URL(path, this.options.baseUrl), method, {
        body,
        headers: key === undefined ? {} : { 'Idempotency-Key': key },
        timeoutMs: this.options.timeoutMs,
      });
    } catch (error) {
      throw new PspServerError(
        error instanceof PartnerCallFailed && error.timedOut ? 'PSP call timed out' : (error as Error).message,
      );
    }
    if (answer.status >= 500) throw new PspServerError(`PSP answered ${answer.status}`);
    try {
      return { status: answer.status, body: answer.text === '' ? {} : (JSON.parse(answer.text) as Record<string, unknown>) };
    } catch {
      throw new PspServerError('PSP answered with a body that is not JSON');
    }
  }
}
