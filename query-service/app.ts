import express, { type Request, type Response } from 'express';
import { seesChannel, type Principal } from '../platform/access.js';
import { channelForbidden, requirePrincipal } from '../platform/authentication.js';
import type { Pool } from '../platform/db.js';
import { serveHealth, type HealthCheck } from '../platform/health.js';
import { param, problemHandler, routeNotFound } from '../platform/http.js';
import type { Logger } from '../platform/logger.js';
import { canonicalUuid } from '../platform/ids.js';
import { parseMoment } from '../platform/moments.js';
import { Problem, problems } from '../platform/problem.js';
import { compileValidator } from '../platform/validation.js';
import { findInvoice, listOrderInvoices } from './invoices/queries.js';
import { renderInvoiceHtml } from './invoices/render.js';
import { renderInvoicePdf } from './invoices/renderInvoicePdf.js';
import * as schemas from './schemas.js';
import { orderAsOf } from './projections/orderView/rebuild.js';
import { funnelReport } from './projections/funnel/funnelStore.js';
import { archivedMonthOfOrder } from '../store/archive.js';
import {
  decodeCursor,
  encodeCursor,
  findOrderView,
  isNewOrder,
  listOrderEvents,
  listOrderSummaries,
  orderChannel,
  orderHasEvents,
  type PageCursor,
  type StoredView,
} from './projections/orderView/queries.js';

export interface QueryServiceDeps {
  readonly pool: Pool;
  readonly logger: Logger;
  readonly healthChecks: Readonly<Record<string, HealthCheck>>;
  /** How long a read waits for its projection to catch up (contract §2: 2 s). */
  readonly maxWaitMs?: number;
}

const validate = Object.freeze({
  orderId: compileValidator(schemas.orderIdParams, 'parameter'),
  invoiceId: compileValidator(schemas.invoiceIdParams, 'parameter'),
  customerId: compileValidator(schemas.customerIdParams, 'parameter'),
  orderQuery: compileValidator(schemas.orderQuery, 'parameter'),
  eventsQuery: compileValidator(schemas.eventsQuery, 'parameter'),
  pageQuery: compileValidator(schemas.pageQuery, 'parameter'),
  funnelQuery: compileValidator(schemas.funnelQuery, 'parameter'),
});

/**
 * The read API (contract §6), from the query service's read tables only. Reads after a write may pass
 * `min_version`: the answer waits up to 2 s for the projection, then comes with `Projection-Lag`.
 * A brand-new order (its UUIDv7 time says so) is waited for the same way, so a client that reads
 * right after placing finds its order.
 */
export function createQueryApp(deps: QueryServiceDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const maxWaitMs = deps.maxWaitMs ?? 2_000;

  serveHealth(app, deps.healthChecks);

  /**
   * 410 for an order of a month archived to files (npm run archive): its rows and history are no longer
   * here, so the answer says which month holds it and how it comes back. Any id of that month gets this
   * answer (the database no longer knows which of them existed), so it is asked only once nothing was found.
   */
  async function refuseArchived(orderId: string): Promise<void> {
    const archived = await archivedMonthOfOrder(deps.pool, orderId);
    if (archived === undefined) return;
    throw new Problem(
      410,
      'order-archived',
      'Order archived',
      `Order ${orderId} would have been placed in ${archived.month}, a month archived on ${archived.archivedAt.slice(0, 10)}: its orders and their event history are no longer in the database but in that month's archive. An operator brings the month back with \`npm run archive -- restore ${archived.month}\`.`,
      { extensions: { archived_month: archived.month } },
    );
  }

  /** 404 for an order a channel's key may not see, as for one that does not exist (contract §8). */
  async function checkVisible(principal: Principal, orderId: string): Promise<void> {
    if (principal.channel === null) return;
    const channel = await orderChannel(deps.pool, orderId);
    if (channel === undefined) await refuseArchived(orderId);
    if (!seesChannel(principal, channel)) throw problems.notFound('Order', orderId);
  }

  app.get('/api/v1/orders/:order_id', async (req, res) => {
    const { order_id } = validate.orderId({ order_id: canonicalUuid(param(req, 'order_id')) });
    const query = validate.orderQuery({ ...req.query });
    const principal = requirePrincipal(req);
    if (query.as_of !== undefined) {
      // The order as it was then, folded from the event log (the replay tool's --as-of). The schema's
      // date-time format is parseMoment, so this parses; the check keeps an Invalid Date from PostgreSQL.
      const at = parseMoment(query.as_of);
      if (at === undefined) throw problems.validation([{ parameter: 'as_of', detail: 'is not a date-time' }]);
      const past = await orderAsOf(deps.pool, order_id, at);
      if (past === undefined) await refuseArchived(order_id);
      if (past === undefined || !seesChannel(principal, past.channel))
        throw new Problem(404, 'not-found', 'Order not found', `Order ${order_id} did not exist at ${query.as_of}.`);
      res.json(past);
      return;
    }
    const wanted = query.min_version === undefined ? undefined : Number(query.min_version);
    const fresh = isNewOrder(order_id);
    const found = await waitForView(deps.pool, order_id, wanted ?? (fresh ? 1 : undefined), maxWaitMs, fresh);
    const view = found !== undefined && seesChannel(principal, found.channel) ? found : undefined;
    if (view === undefined) {
      if (found === undefined) await refuseArchived(order_id);
      if (wanted !== undefined) res.setHeader('Projection-Lag', String(wanted));
      throw problems.notFound('Order', order_id);
    }
    if (wanted !== undefined && view.version < wanted) res.setHeader('Projection-Lag', String(wanted - view.version));
    sendVersioned(req, res, order_id, view);
  });

  app.get('/api/v1/orders/:order_id/events', async (req, res) => {
    const { order_id } = validate.orderId({ order_id: canonicalUuid(param(req, 'order_id')) });
    const query = validate.eventsQuery({ ...req.query });
    const afterSeq = Number(query.after_seq ?? 0);
    const pageSize = Number(query.limit ?? 100);
    await checkVisible(requirePrincipal(req), order_id);
    const events = await listOrderEvents(deps.pool, order_id, afterSeq, pageSize);
    if (events.length === 0 && !(await orderHasEvents(deps.pool, order_id))) {
      await refuseArchived(order_id);
      throw problems.notFound('Order', order_id);
    }
    const last = events[events.length - 1];
    res.json({ events, next_after_seq: events.length === pageSize && last ? last.seq : null });
  });

  app.get('/api/v1/customers/:customer_id/orders', async (req, res) => {
    const { customer_id } = validate.customerId({ customer_id: param(req, 'customer_id') });
    const query = validate.pageQuery({ ...req.query });
    if (query.status !== undefined)
      throw problems.validation([{ parameter: 'status', detail: 'filter customer history by status is not supported' }]);
    await sendPage(res, { customerId: customer_id, ...channelFilter(requirePrincipal(req)) }, query);
  });

  app.get('/api/v1/orders', async (req, res) => {
    const query = validate.pageQuery({ ...req.query });
    await sendPage(
      res,
      { ...(query.status === undefined ? {} : { status: query.status }), ...channelFilter(requirePrincipal(req)) },
      query,
    );
  });

  async function sendPage(
    res: Response,
    filter: { customerId?: string; status?: string; channel?: string },
    query: { limit?: string; cursor?: string },
  ) {
    let after: PageCursor | undefined;
    if (query.cursor !== undefined) {
      after = decodeCursor(query.cursor);
      if (after === undefined) throw problems.validation([{ parameter: 'cursor', detail: 'is not a cursor this API gave out' }]);
    }
    const page = await listOrderSummaries(deps.pool, filter, Number(query.limit ?? 20), after);
    res.json({ orders: page.orders, next_cursor: page.next === undefined ? null : encodeCursor(page.next) });
  }

  // The order funnel (issue 15): cohorts by the hour and channel of placement; a channel's key sees its channel.
  app.get('/api/v1/analytics/funnel', async (req, res) => {
    const query = validate.funnelQuery({ ...req.query });
    const principal = requirePrincipal(req);
    if (principal.channel !== null && query.channel !== undefined && query.channel !== principal.channel)
      throw channelForbidden(principal.channel);
    const to = query.to === undefined ? new Date() : parseMoment(query.to);
    const from = query.from === undefined ? new Date((to?.getTime() ?? Date.now()) - 24 * 3_600_000) : parseMoment(query.from);
    if (from === undefined || to === undefined) throw problems.validation([{ parameter: 'from', detail: 'is not a date-time' }]);
    if (from.getTime() >= to.getTime()) throw problems.validation([{ parameter: 'from', detail: 'must be before to' }]);
    if (to.getTime() - from.getTime() > 366 * 24 * 3_600_000)
      throw problems.validation([{ parameter: 'to', detail: 'at most 366 days after from' }]);
    res.json(await funnelReport(deps.pool, { from, to, channel: principal.channel ?? query.channel }));
  });

  app.get('/api/v1/orders/:order_id/invoices', async (req, res) => {
    const { order_id } = validate.orderId({ order_id: canonicalUuid(param(req, 'order_id')) });
    await checkVisible(requirePrincipal(req), order_id);
    const invoices = await listOrderInvoices(deps.pool, order_id);
    if (invoices.length === 0 && (await findOrderView(deps.pool, order_id)) === undefined)
      throw problems.notFound('Order', order_id);
    res.json({ invoices });
  });

  app.get('/api/v1/invoices/:invoice_id', async (req, res) => {
    const { invoice_id } = validate.invoiceId({ invoice_id: canonicalUuid(param(req, 'invoice_id')) });
    const invoice = await findInvoice(deps.pool, invoice_id);
    const principal = requirePrincipal(req);
    if (
      invoice === undefined ||
      (principal.channel !== null && !seesChannel(principal, await orderChannel(deps.pool, invoice.order_id)))
    )
      throw problems.notFound('Invoice', invoice_id);
    res.setHeader('Vary', 'Accept');
    switch (req.accepts(['application/json', 'text/html', 'application/pdf'])) {
      case 'application/pdf':
        res
          .type('application/pdf')
          .setHeader('Content-Disposition', `inline; filename="${invoice.number}.pdf"`)
          .send(await renderInvoicePdf(invoice));
        return;
      case 'text/html':
        res.type('text/html').send(renderInvoiceHtml(invoice));
        return;
      default:
        res.json(invoice);
    }
  });

  app.use(routeNotFound);
  app.use(problemHandler(deps.logger));
  return app;
}

/** A channel's key lists its channel's orders only; a back-office key every order. */
function channelFilter(principal: Principal): { channel?: string } {
  return principal.channel === null ? {} : { channel: principal.channel };
}

/**
 * The view, once it reaches `minVersion` (if given) or the wait runs out; polls with a deadline. A view
 * that does not exist is waited for only when the order may be too new to be projected (`mayBeNew`):
 * any other id is no order, and a `min_version` does not make it worth 2 s of the service.
 */
async function waitForView(
  pool: Pool,
  orderId: string,
  minVersion: number | undefined,
  maxWaitMs: number,
  mayBeNew: boolean,
): Promise<StoredView | undefined> {
  const deadline = Date.now() + maxWaitMs;
  let delay = 5;
  for (;;) {
    const view = await findOrderView(pool, orderId);
    if (view === undefined && !mayBeNew) return undefined;
    if (minVersion === undefined || (view !== undefined && view.version >= minVersion) || Date.now() >= deadline) return view;
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(0, deadline - Date.now()))));
    delay = Math.min(delay * 2, 100);
  }
}

/** An order's answer with its version as ETag; `If-None-Match` with that version → 304. */
function sendVersioned(req: Request, res: Response, orderId: string, view: StoredView): void {
  const etag = `"${orderId}:${view.version}"`;
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', 'no-cache');
  const match = req.get('If-None-Match');
  if (match !== undefined && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) {
    res.status(304).end();
    return;
  }
  res.type('application/json').send(view.json);
}
