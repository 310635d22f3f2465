import fs from 'node:fs';
import type http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PROBLEM_BASE } from '../platform/problem.js';
import { PROBLEM_TYPE_BY_SLUG, PROBLEM_TYPES, type ProblemType } from '../platform/problemTypes.js';
import { buildOpenApiDocument, DOCS_PATH, OPENAPI_PATH } from './openapi.js';

/**
 * The API's description on PORT, open without a key (contract §8): the OpenAPI document at
 * /api/v1/openapi.json, a browsable reference of it at /docs (Swagger UI, served from node_modules, no
 * CDN), and a page per problem type at /problems/<slug> (the `type` of every problem answer).
 * Answers true when it answered the request.
 */
export type DocsHandler = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

const require = createRequire(import.meta.url);
const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));
/** The reference page's files, by the name it asks for them under /docs/. */
const ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

export function createDocsHandler(): DocsHandler {
  const document = JSON.stringify(buildOpenApiDocument());
  const assets = new Map<string, Buffer>();
  const asset = (name: string): Buffer => {
    let body = assets.get(name);
    if (body === undefined) {
      body = fs.readFileSync(path.join(SWAGGER_UI_DIR, name));
      assets.set(name, body);
    }
    return body;
  };

  return (req, res) => {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') return false;
    const url = (req.url ?? '/').split('?')[0] ?? '/';
    if (url === OPENAPI_PATH) {
      send(res, method, 200, 'application/json; charset=utf-8', document, { 'Access-Control-Allow-Origin': '*' });
      return true;
    }
    if (url === DOCS_PATH || url === `${DOCS_PATH}/`) {
      send(res, method, 200, 'text/html; charset=utf-8', REFERENCE_PAGE);
      return true;
    }
    if (url === `${DOCS_PATH}/init.js`) {
      send(res, method, 200, 'text/javascript; charset=utf-8', INIT_SCRIPT);
      return true;
    }
    if (url.startsWith(`${DOCS_PATH}/`)) {
      const name = url.slice(DOCS_PATH.length + 1);
      const type = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
      if (type === undefined) return false;
      send(res, method, 200, type, asset(name), { 'Cache-Control': 'public, max-age=86400' });
      return true;
    }
    if (url === '/problems' || url === '/problems/') {
      send(res, method, 200, 'text/html; charset=utf-8', problemIndexPage());
      return true;
    }
    if (url.startsWith(PROBLEM_BASE)) {
      const slug = decodeURIComponentSafe(url.slice(PROBLEM_BASE.length));
      const type = slug === undefined ? undefined : PROBLEM_TYPE_BY_SLUG.get(slug);
      if (type === undefined) send(res, method, 404, 'text/html; charset=utf-8', unknownProblemPage(slug ?? ''));
      else send(res, method, 200, 'text/html; charset=utf-8', problemPage(type));
      return true;
    }
    return false;
  };
}

function send(
  res: http.ServerResponse,
  method: string,
  status: number,
  type: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': String(bytes.length),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache',
    ...headers,
  });
  res.end(method === 'HEAD' ? undefined : bytes);
}

function decodeURIComponentSafe(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** `code` spans of the descriptions as <code>. */
const inline = (text: string) => escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');

const STYLE = `body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#222}
code,pre{background:#f4f4f4;border-radius:3px;padding:0 .2em}pre{padding:.8em;overflow:auto}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}`;

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>${body}
<p><a href="/problems">Every problem type</a> · <a href="${DOCS_PATH}">API reference</a> · <a href="${OPENAPI_PATH}">OpenAPI document</a></p>
</body></html>
`;
}

function problemPage(type: ProblemType): string {
  const example = {
    type: `${PROBLEM_BASE}${type.slug}`,
    title: type.title,
    status: type.status,
    detail: '…what happened, for a person to read…',
    instance: '/api/v1/…',
    ...Object.fromEntries((type.extensions ?? []).map((name) => [name, '…'])),
  };
  return page(
    `${type.title} (${type.slug})`,
    `<h1>${escapeHtml(type.title)}</h1>
<table>
<tr><th>type</th><td><code>${escapeHtml(PROBLEM_BASE + type.slug)}</code></td></tr>
<tr><th>status</th><td>${type.status}</td></tr>
<tr><th>content type</th><td><code>application/problem+json</code> (RFC 9457)</td></tr>
${type.extensions === undefined ? '' : `<tr><th>extension members</th><td>${type.extensions.map((e) => `<code>${escapeHtml(e)}</code>`).join(', ')}</td></tr>`}
</table>
<p>${inline(type.description)}</p>
<p>Clients branch on <code>type</code>, never on <code>detail</code>, which is for people and may change.</p>
<h2>Example</h2>
<pre>${escapeHtml(JSON.stringify(example, null, 2))}</pre>`,
  );
}

function problemIndexPage(): string {
  const rows = PROBLEM_TYPES.map(
    (p) =>
      `<tr><td><a href="${PROBLEM_BASE}${p.slug}"><code>${p.slug}</code></a></td><td>${p.status}</td><td>${escapeHtml(p.title)}</td></tr>`,
  ).join('\n');
  return page(
    'Problem types',
    `<h1>Problem types</h1>
<p>Every error of this API is <code>application/problem+json</code> (RFC 9457) whose <code>type</code> is one of these.</p>
<table><tr><th>type</th><th>status</th><th>title</th></tr>
${rows}
</table>`,
  );
}

function unknownProblemPage(slug: string): string {
  return page(
    'Unknown problem type',
    `<h1>Unknown problem type</h1><p>This API has no problem type <code>${escapeHtml(slug)}</code>.</p>`,
  );
}

const REFERENCE_PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Order management system API</title>
<link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css">
<link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-32x32.png" sizes="32x32">
</head><body>
<div id="reference"></div>
<script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
<script src="${DOCS_PATH}/init.js"></script>
</body></html>
`;

/** Swagger UI on the document, from this server only (no validator badge: it would call out). */
const INIT_SCRIPT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '${OPENAPI_PATH}',
    dom_id: '#reference',
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis],
  });
});
`;
