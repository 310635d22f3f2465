/**
 * Who may do what (contract §8), as pure rules: the scopes, the channels a key may belong to, the one
 * table that says which scope each `/api/v1` route needs, and the checks the authentication gate
 * (platform/authentication.ts) and the route handlers make with them. No I/O here.
 */

export const Scope = Object.freeze({
  ordersWrite: 'orders:write',
  ordersRead: 'orders:read',
  refundsWrite: 'refunds:write',
  catalogWrite: 'catalog:write',
  webhooksWrite: 'webhooks:write',
  admin: 'admin',
} as const);
export type ScopeName = (typeof Scope)[keyof typeof Scope];
export const SCOPES: readonly ScopeName[] = Object.freeze(Object.values(Scope));

/** The sales channels a key may belong to (domain/order's Channel; platform does not import domain). */
export const API_CHANNELS = Object.freeze(['web', 'mobile', 'pos', 'marketplace'] as const);
export type ApiChannel = (typeof API_CHANNELS)[number];

export function isScope(value: unknown): value is ScopeName {
  return typeof value === 'string' && (SCOPES as readonly string[]).includes(value);
}

export function isApiChannel(value: unknown): value is ApiChannel {
  return typeof value === 'string' && (API_CHANNELS as readonly string[]).includes(value);
}

/** A key's own request limit (token bucket): refilled at perSecond, holding at most burst. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/** The client a request authenticated as: what its API key allows. */
export interface Principal {
  /** The key's id: also the client's scope of Idempotency-Keys. */
  readonly keyId: string;
  readonly name: string;
  /** A channel's key sees and places only that channel's orders; null for back-office tools. */
  readonly channel: ApiChannel | null;
  readonly scopes: readonly ScopeName[];
  /** The key's own limit; undefined: the configured default. */
  readonly rateLimit: RateLimit | undefined;
}

/** `admin` implies every scope. */
export function hasScope(granted: readonly ScopeName[], needed: ScopeName): boolean {
  return granted.includes(needed) || granted.includes(Scope.admin);
}

/** Whether a key's own limits apply to it: an admin key (back-office tools, benchmarks) is never throttled. */
export function isRateLimited(principal: Principal): boolean {
  return !principal.scopes.includes(Scope.admin);
}

/** One route of the API and the scope it needs. `path` is a template: `{name}` is one path segment. */
export interface ApiRoute {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly scope: ScopeName;
}

/**
 * Every `/api/v1` route and its scope: the one place access is declared. The gate looks a request up
 * here; a path missing from this table still needs a valid key (401 without one), then answers 404.
 * `/health` and the API description are outside `/api/v1` and stay open.
 */
export const API_ROUTES: readonly ApiRoute[] = Object.freeze([
  { method: 'PUT', path: '/api/v1/products/{sku}', scope: Scope.catalogWrite },
  { method: 'PUT', path: '/api/v1/warehouses/{warehouse_id}', scope: Scope.catalogWrite },
  { method: 'PUT', path: '/api/v1/inventory/{warehouse_id}/{sku}', scope: Scope.catalogWrite },
  { method: 'GET', path: '/api/v1/inventory/{sku}', scope: Scope.ordersRead },
  { method: 'POST', path: '/api/v1/carts', scope: Scope.ordersWrite },
  { method: 'GET', path: '/api/v1/carts/{cart_id}', scope: Scope.ordersRead },
  { method: 'POST', path: '/api/v1/orders', scope: Scope.ordersWrite },
  { method: 'POST', path: '/api/v1/orders/{order_id}/cancel', scope: Scope.ordersWrite },
  { method: 'PATCH', path: '/api/v1/orders/{order_id}', scope: Scope.ordersWrite },
  { method: 'POST', path: '/api/v1/orders/{order_id}/refunds', scope: Scope.refundsWrite },
  { method: 'GET', path: '/api/v1/orders', scope: Scope.ordersRead },
  { method: 'GET', path: '/api/v1/orders/{order_id}', scope: Scope.ordersRead },
  { method: 'GET', path: '/api/v1/orders/{order_id}/events', scope: Scope.ordersRead },
  { method: 'GET', path: '/api/v1/orders/{order_id}/invoices', scope: Scope.ordersRead },
  { method: 'GET', path: '/api/v1/invoices/{invoice_id}', scope: Scope.ordersRead },
  { method: 'GET', path: '/api/v1/customers/{customer_id}/orders', scope: Scope.ordersRead },
  { method: 'GET', path: '/api/v1/analytics/funnel', scope: Scope.ordersRead },
  { method: 'GET', path: '/api/v1/admin/sagas', scope: Scope.admin },
  { method: 'GET', path: '/api/v1/admin/ops', scope: Scope.admin },
  { method: 'GET', path: '/api/v1/admin/dead-letters', scope: Scope.admin },
  { method: 'POST', path: '/api/v1/admin/dead-letters/{id}/redrive', scope: Scope.admin },
  { method: 'POST', path: '/api/v1/admin/dead-letters/{id}/discard', scope: Scope.admin },
  { method: 'POST', path: '/api/v1/admin/api-keys', scope: Scope.admin },
  { method: 'GET', path: '/api/v1/admin/api-keys', scope: Scope.admin },
  { method: 'DELETE', path: '/api/v1/admin/api-keys/{key_id}', scope: Scope.admin },
  { method: 'PUT', path: '/api/v1/admin/marketplaces/{marketplace_id}', scope: Scope.admin },
  { method: 'POST', path: '/api/v1/admin/marketplaces/{marketplace_id}/secrets', scope: Scope.admin },
  { method: 'POST', path: '/api/v1/orders/batch', scope: Scope.ordersWrite },
  { method: 'POST', path: '/api/v1/webhooks', scope: Scope.webhooksWrite },
  { method: 'GET', path: '/api/v1/webhooks', scope: Scope.webhooksWrite },
  { method: 'GET', path: '/api/v1/webhooks/{webhook_id}', scope: Scope.webhooksWrite },
  { method: 'DELETE', path: '/api/v1/webhooks/{webhook_id}', scope: Scope.webhooksWrite },
  { method: 'POST', path: '/api/v1/webhooks/{webhook_id}/secrets', scope: Scope.webhooksWrite },
  { method: 'POST', path: '/api/v1/webhooks/{webhook_id}/enable', scope: Scope.webhooksWrite },
  { method: 'GET', path: '/api/v1/webhooks/{webhook_id}/deliveries', scope: Scope.webhooksWrite },
]);

/**
 * Routes a partner authenticates by a signature instead of a key: a marketplace signs its orders as
 * Standard Webhooks prescribe, and the route's handler verifies that (401 when it does not hold).
 */
export const SIGNED_ROUTES: readonly Omit<ApiRoute, 'scope'>[] = Object.freeze([
  { method: 'POST', path: '/api/v1/channels/marketplace/{marketplace_id}/orders' },
]);

/** What a request needs before it reaches a route: nothing (open), or a key with this scope (null: any key). */
export type Access = { readonly kind: 'open' } | { readonly kind: 'key'; readonly scope: ScopeName | null };

const API_PREFIX = '/api/v1';

interface CompiledRoute {
  readonly method: string;
  readonly pattern: RegExp;
  readonly scope: ScopeName;
}

/** `{name}` matches one non-empty segment; a trailing slash is allowed, as express allows it. */
function compile(route: ApiRoute): CompiledRoute {
  const source = route.path
    .split('/')
    .map((segment) => (/^\{[a-z_]+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  // Case-insensitive, as express routes: /API/V1/… reaches the same handler, so it needs the same key.
  return { method: route.method, pattern: new RegExp(`^${source}/?$`, 'i'), scope: route.scope };
}

/** Paths under /api/v1 that stay open: the API description (contract §8). */
export const OPEN_API_PATHS: readonly string[] = Object.freeze(['/api/v1/openapi.json']);

const COMPILED: readonly CompiledRoute[] = API_ROUTES.map(compile);
const SIGNED: readonly CompiledRoute[] = SIGNED_ROUTES.map((route) => compile({ ...route, scope: Scope.admin }));
const OPEN: Access = Object.freeze({ kind: 'open' });
/** An undeclared route under /api/v1 (unknown path or method): any valid key, then the app's 404 or 405. */
const UNDECLARED: Access = Object.freeze({ kind: 'key', scope: null });

/** The access a request needs, from its method and path (without the query). HEAD is a GET. */
export function accessFor(method: string, path: string): Access {
  const prefix = path.slice(0, API_PREFIX.length + 1).toLowerCase();
  if (prefix !== API_PREFIX && prefix !== `${API_PREFIX}/`) return OPEN;
  const wanted = method === 'HEAD' ? 'GET' : method;
  if (wanted === 'GET' && OPEN_API_PATHS.includes(path)) return OPEN;
  if (SIGNED.some((route) => route.method === wanted && route.pattern.test(path))) return OPEN;
  for (const route of COMPILED) {
    if (route.method === wanted && route.pattern.test(path)) return { kind: 'key', scope: route.scope };
  }
  return UNDECLARED;
}

/** The token of an `Authorization: Bearer <token>` header (RFC 6750: the scheme is case-insensitive). */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return match?.[1];
}

/** What a channel's key may place: the body's channel, or the key's when the body names none. */
export type ChannelDecision =
  | { readonly kind: 'as-sent' }
  | { readonly kind: 'take-key-channel'; readonly channel: ApiChannel }
  | { readonly kind: 'forbidden'; readonly keyChannel: ApiChannel };

/** A body naming another channel than its key's is refused (403); an omitted channel is the key's. */
export function channelForWrite(principal: Principal, bodyChannel: unknown): ChannelDecision {
  if (principal.channel === null) return { kind: 'as-sent' };
  if (bodyChannel === undefined) return { kind: 'take-key-channel', channel: principal.channel };
  if (bodyChannel !== principal.channel) return { kind: 'forbidden', keyChannel: principal.channel };
  return { kind: 'as-sent' };
}

/** Whether a key may see an order of this channel: its own channel's, or any for a back-office key. */
export function seesChannel(principal: Principal, orderChannel: string | null | undefined): boolean {
  return principal.channel === null || principal.channel === orderChannel;
}
