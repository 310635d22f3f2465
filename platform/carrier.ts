import CircuitBreaker from 'opossum';
import http from 'node:http';
import { callPartner } from './partnerHttp.js';
import { observeBreaker } from './metrics.js';

/** The carrier API gave no usable answer (timeout, network, 5xx, breaker open): ask again later. */
export class CarrierUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CarrierUnavailable';
  }
}

/**
 * What the carrier said: a status string as it came (the tracker checks it against the carrier
 * protocol, carrierProtocol.ts), or that it knows no such parcel.
 */
export type TrackingAnswer = { readonly kind: 'status'; readonly status: string } | { readonly kind: 'unknown' };

/**
 * Asks carriers where a parcel is, over HTTP, through one opossum circuit breaker: while the carrier
 * API fails, polls fail at once and the tracker backs off instead of piling up timeouts.
 */
export class CarrierClient {
  readonly breaker: CircuitBreaker<[string, string], TrackingAnswer>;
  /** Keep-alive connections to the carrier API: one poll at a time each, as many as a tracker's batch asks at once. */
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 100 });

  constructor(
    private readonly baseUrl: string,
    timeoutMs: number,
  ) {
    this.breaker = new CircuitBreaker(
      (carrier: string, trackingNumber: string) => this.call(carrier, trackingNumber, timeoutMs),
      {
        timeout: timeoutMs,
        errorThresholdPercentage: 50,
        volumeThreshold: 4,
        resetTimeout: 5_000,
        // Our metrics come from the breaker's events; opossum's rolling latency percentiles (a sort of
        // every latency in the window each time it looks at its stats) and snapshots cost CPU for nothing.
        rollingPercentilesEnabled: false,
        enableSnapshots: false,
      },
    );
    observeBreaker(this.breaker, 'carrier');
  }

  async track(carrier: string, trackingNumber: string): Promise<TrackingAnswer> {
    try {
      return await this.breaker.fire(carrier, trackingNumber);
    } catch (error) {
      throw new CarrierUnavailable(`carrier API: ${(error as Error).message}`);
    }
  }

  shutdown(): void {
    this.breaker.shutdown();
    this.agent.destroy();
  }

  private async call(carrier: string, trackingNumber: string, timeoutMs: number): Promise<TrackingAnswer> {
    const url = new URL(
      `/v1/carriers/${encodeURIComponent(carrier)}/tracking/${encodeURIComponent(trackingNumber)}`,
      this.baseUrl,
    );
    const response = await callPartner(this.agent, url, 'GET', { timeoutMs });
    if (response.status === 404) return { kind: 'unknown' };
    if (response.status < 200 || response.status > 299) throw new Error(`answered ${response.status}`);
    const body = JSON.parse(response.text) as { status?: unknown } | null;
    return typeof body?.status === 'string' ? { kind: 'status', status: body.status } : { kind: 'unknown' };
  }
}
