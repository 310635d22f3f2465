import { createRequire } from 'node:module';

/** The parts of kafkajs 2.2.4's (untyped, internal) RequestQueue this fix touches. */
interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
  enforceRequestTimeout: boolean;
  requestTimeout: number;
  requestTimeoutIntervalId: NodeJS.Timeout | undefined;
  inflight: Map<unknown, { sentAt: number; requestTimeout: number; timeoutRequest(): void }>;
  isConnected(): boolean;
  destroy(): void;
  scheduleRequestTimeoutCheck(): void;
}

/** How often a connection looks for requests past their timeout (kafkajs: every 100 ms). */
const REQUEST_TIMEOUT_CHECK_MS = 1_000;

/** kafkajs's own interval for re-checking a queue that has requests waiting. */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

let installed = false;

/**
 * kafkajs 2.2.4 re-checks every broker connection's request queue on a timer that re-arms itself
 * with a negative delay (1 ms) even when nothing waits and nothing is throttled, so an idle process
 * spins ~1,000 timers a second per broker connection (tulios/kafkajs#1556, #1704; the fix proposed
 * there is unreleased). This schedules the check only when a request waits or a throttle ends; a new
 * request and every answered one check the queue themselves. It also checks for timed-out requests once a
 * second instead of ten times. Call once per process before connecting.
 */
export function installKafkajsIdleFix(): void {
  if (installed) return;
  const require = createRequire(import.meta.url);
  // The module kafkajs itself loads (same resolved file, so the same class).
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueueInternals };
  RequestQueue.prototype.scheduleCheckPendingRequests = function (this: RequestQueueInternals): void {
    if (this.throttleCheckTimeoutId) return;
    let scheduleAt = this.throttledUntil - Date.now();
    if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL;
    else if (scheduleAt <= 0) return;
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, scheduleAt);
  };
  // Every connection also looked for timed-out requests 10 times a second, busy or idle; once a second
  // is enough for timeouts of seconds (a request times out at most a second late).
  RequestQueue.prototype.scheduleRequestTimeoutCheck = function (this: RequestQueueInternals): void {
    if (!this.enforceRequestTimeout) return;
    this.destroy();
    this.requestTimeoutIntervalId = setInterval(
      () => {
        this.inflight.forEach((request) => {
          if (Date.now() - request.sentAt > request.requestTimeout) request.timeoutRequest();
        });
        if (!this.isConnected()) this.destroy();
      },
      Math.min(this.requestTimeout, REQUEST_TIMEOUT_CHECK_MS),
    );
  };
  installed = true;
}
