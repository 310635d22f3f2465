import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { repoRoot } from '../platform/nodeProcess.js';

/**
 * The ops page at /ops: a static HTML page, its script and its style (api/ops/, plain files, no build
 * step), served open like /docs. The page holds no data: its script asks the admin API
 * (/api/v1/admin/ops, the dead-letter, saga and funnel endpoints) with the admin key the operator
 * types, kept in the tab's sessionStorage and sent as `Authorization: Bearer`. Answers true when it
 * answered the request.
 */
export const OPS_PATH = '/ops';

/** The page's files, by the name they are asked for under /ops/. */
const FILES: Readonly<Record<string, { readonly file: string; readonly type: string }>> = {
  '': { file: 'index.html', type: 'text/html; charset=utf-8' },
  'ops.js': { file: 'ops.js', type: 'text/javascript; charset=utf-8' },
  'ops.css': { file: 'ops.css', type: 'text/css; charset=utf-8' },
  'icon.svg': { file: 'icon.svg', type: 'image/svg+xml' },
};

/** Where the files are: the source folder api/ops/ (plain files, not compiled into dist/). */
const OPS_ASSETS_DIR = path.join(repoRoot, 'api', 'ops');

/**
 * Only this server's own script, style and API: nothing inline, nothing from elsewhere, never in a
 * frame (the page holds an admin key).
 */
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

export type OpsPageHandler = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

export function createOpsPageHandler(): OpsPageHandler {
  // Read once, at start: a missing file fails the start, not an operator's request.
  const bodies = new Map(
    Object.entries(FILES).map(([name, { file, type }]) => [name, { body: fs.readFileSync(path.join(OPS_ASSETS_DIR, file)), type }]),
  );
  return (req, res) => {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') return false;
    const url = (req.url ?? '/').split('?')[0] ?? '/';
    if (url !== OPS_PATH && !url.startsWith(`${OPS_PATH}/`)) return false;
    const asset = bodies.get(url === OPS_PATH ? '' : url.slice(OPS_PATH.length + 1));
    if (asset === undefined) return false;
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': asset.type, 'Content-Length': String(asset.body.length) });
    res.end(method === 'HEAD' ? undefined : asset.body);
    return true;
  };
}
