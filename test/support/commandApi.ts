import { upstreamFor } from '../../api/routes.js';
import { createCommandHandler } from '../../command-service/app.js';
import { createQueryApp } from '../../query-service/app.js';
import { createQueryHandler } from '../../query-service/server.js';
import { ApiKeyCache } from '../../platform/authentication.js';
import { listen } from '../../platform/http.js';
import { createLogger } from '../../platform/logger.js';
import { createTestKey } from './apiKeys.js';
import { testConfig, testPool } from './env.js';

// `any` on purpose: tests read response bodies by field and assert on them with chai.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface ApiResponse<T = any> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

export interface TestApi {
  readonly baseUrl: string;
  /** An admin key of this API's own, sent by every request unless it sets Authorization itself. */
  readonly adminKey: string;
  request(
    method: string,
    path: string,
    options?: { body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<ApiResponse>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  put(path: string, body: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  patch(path: string, body: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  get(path: string, headers?: Record<string, string>): Promise<ApiResponse>;
  close(): Promise<void>;
}

/** The command service's express app on a free port, with the real PostgreSQL test database behind it. */
export async function startCommandApi(
  checks: Parameters<typeof createCommandHandler>[0]['healthChecks'] = {},
  configOverrides: Record<string, string> = {},
): Promise<TestApi> {
  const pool = testPool();
  const app = createCommandHandler({
    pool,
    config: testConfig(configOverrides),
    logger: createLogger('command-service-test', 'silent'),
    healthChecks: { postgres: () => pool.query('SELECT 1'), ...checks },
  });
  return serve(app, (await createTestKey(pool, { name: 'command-api-test' })).key);
}

/**
 * The public API as api/main.ts serves it: the command service's handler and the query service's
 * (its node:http fast read, then its express app), one port, on the test database's public schema.
 */
export async function startApi(): Promise<TestApi> {
  const pool = testPool();
  const logger = createLogger('api-test', 'silent');
  const writes = createCommandHandler({ pool, config: testConfig(), logger, healthChecks: {} });
  const reads = createQueryHandler(pool, createQueryApp({ pool, logger, healthChecks: {} }), {
    keys: ApiKeyCache.forDatabase(pool, testConfig().apiKeyCacheMs),
    logger,
  });
  const adminKey = (await createTestKey(pool, { name: 'api-test' })).key;
  return serve((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (upstreamFor(req.method ?? 'GET', path) === 'query') reads(req, res);
    else writes(req, res);
  }, adminKey);
}

async function serve(app: Parameters<typeof listen>[0], adminKey: string): Promise<TestApi> {
  const server = await listen(app, '127.0.0.1', 0);
  const baseUrl = `http://127.0.0.1:${server.port}`;
  const request: TestApi['request'] = async (method, path, options = {}) => {
    const headers: Record<string, string> = { Authorization: `Bearer ${adminKey}`, ...options.headers };
    let payload: string | undefined = options.raw;
    if (options.body !== undefined) {
      payload = JSON.stringify(options.body);
      headers['Content-Type'] ??= 'application/json';
    }
    const response = await fetch(baseUrl + path, { method, headers, body: payload });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body };
  };
  return {
    baseUrl,
    adminKey,
    request,
    post: (path, body, headers) => request('POST', path, { body, headers: headers ?? {} }),
    put: (path, body, headers) => request('PUT', path, { body, headers: headers ?? {} }),
    patch: (path, body, headers) => request('PATCH', path, { body, headers: headers ?? {} }),
    get: (path, headers) => request('GET', path, { headers: headers ?? {} }),
    close: () => server.close(),
  };
}
