import express from 'express';
import { CARRIER_COVERAGE, CarrierStatus, parseTrackingNumber, type CarrierStatusName } from '../../platform/carrierProtocol.js';
import { param, problemHandler, routeNotFound } from '../../platform/http.js';
import type { Logger } from '../../platform/logger.js';
import { problems } from '../../platform/problem.js';

export interface CarrierAppOptions {
  readonly logger: Logger;
  /** Time each leg takes: label → in transit after one step → delivered after two. */
  readonly stepMs: number;
  readonly now?: () => number;
}

/**
 * The carriers' tracking API sandbox (ups, fedex, usps, dhl, postnl), one HTTP service:
 * `GET /v1/carriers/{carrier}/tracking/{tracking_number}` → `{ carrier, tracking_number, status, events }`.
 * A parcel's progress follows from its label time, which its tracking number carries, so the
 * simulator needs no storage and answers the same after a restart.
 */
export function createCarrierApp(options: CarrierAppOptions): express.Express {
  const now = options.now ?? Date.now;
  const app = express();
  app.disable('x-powered-by');
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/v1/carriers/:carrier/tracking/:tracking_number', (req, res) => {
    const carrier = param(req, 'carrier');
    const trackingNumber = param(req, 'tracking_number');
    const parsed = parseTrackingNumber(trackingNumber);
    if (!CARRIER_COVERAGE.has(carrier) || parsed === undefined || parsed.carrier !== carrier) {
      throw problems.notFound('Tracking number', trackingNumber);
    }
    const step = Math.max(1, options.stepMs);
    const legs: Array<[CarrierStatusName, number]> = [
      [CarrierStatus.labelCreated, parsed.labelAt],
      [CarrierStatus.inTransit, parsed.labelAt + step],
      [CarrierStatus.delivered, parsed.labelAt + 2 * step],
    ];
    const events = legs.filter(([, at]) => at <= now()).map(([status, at]) => ({ status, at: new Date(at).toISOString() }));
    const status = events[events.length - 1]?.status ?? CarrierStatus.labelCreated;
    res.json({ carrier, tracking_number: trackingNumber, status, events });
  });
  app.use(routeNotFound);
  app.use(problemHandler(options.logger));
  return app;
}
