import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { expect } from 'chai';
import { createDocsHandler } from '../../api/docs.js';
import { buildOpenApiDocument } from '../../api/openapi.js';
import { accessFor, API_ROUTES, SIGNED_ROUTES } from '../../platform/access.js';
import { DeadLetterStatus } from '../../platform/deadLetters.js';
import { problems } from '../../platform/problem.js';
import { PROBLEM_TYPE_BY_SLUG, PROBLEM_TYPES } from '../../platform/problemTypes.js';

/** The repository's root (this file runs from dist/test/unit). */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SOURCE_FOLDERS = ['api', 'platform', 'store', 'domain', 'command-service', 'query-service', 'relay', 'workers'];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the test reads the document by field
type Json = Record<string, any>;

function sourceFiles(folder: string): string[] {
  return fs.readdirSync(path.join(ROOT, folder), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(rel);
    return entry.name.endsWith('.ts') ? [rel] : [];
  });
}

/** Every problem slug the API's code throws, with its status: `new Problem(status, 'slug'` and the helpers around it. */
function slugsInCode(): Map<string, Set<number>> {
  const found = new Map<string, Set<number>>();
  const add = (slug: string, status: number) => found.set(slug, (found.get(slug) ?? new Set()).add(status));
  for (const file of SOURCE_FOLDERS.flatMap(sourceFiles)) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/new Problem\(\s*(\d{3}),\s*'([a-z0-9-]+)'/g)) add(m[2]!, Number(m[1]));
    // modifyOrder's notModifiable(slug, …) is a 409.
    for (const m of text.matchAll(/notModifiable\(\s*'([a-z0-9-]+)'/g)) add(m[1]!, 409);
    // deadLetters' closed(letter): `dead-letter-${status}` for a letter no longer dead.
    if (/new Problem\(\s*409,\s*`dead-letter-\$\{letter\.status\}`/.test(text)) {
      for (const status of Object.values(DeadLetterStatus).filter((s) => s !== DeadLetterStatus.dead))
        add(`dead-letter-${status}`, 409);
    }
    // http's parser errors: 'bad-request' with the parser's status (a 400).
    if (/new Problem\(\s*parserError\.status,\s*'bad-request'/.test(text)) add('bad-request', 400);
  }
  return found;
}

describe('API description (issue 14 item 1): OpenAPI 3.1 from the schemas, problem types documented', () => {
  const document = buildOpenApiDocument();

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(document as never);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 1)?.slice(0, 2000)).to.deep.equal([]);
    expect(result.valid).to.equal(true);
    expect(document.openapi).to.match(/^3\.1\./);
  });

  it('has every route of API_ROUTES with its method and its scope', () => {
    const paths = document.paths as Json;
    for (const route of API_ROUTES) {
      const operation = paths[route.path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).to.be.an('object');
      expect(operation.security).to.deep.equal([{ bearerAuth: [route.scope] }]);
      expect(operation['x-required-scope']).to.equal(route.scope);
      expect(operation.description).to.include(route.scope);
      expect(operation.responses['401'].content['application/problem+json'].schema).to.deep.equal({
        $ref: '#/components/schemas/Problem',
      });
    }
  });

  it('has the signed marketplace route, authenticated by a Standard Webhooks signature', () => {
    for (const route of SIGNED_ROUTES) {
      const operation = (document.paths as Json)[route.path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).to.be.an('object');
      expect(operation.security).to.deep.equal([{ standardWebhooks: [] }]);
      expect(Object.keys(operation.responses)).to.include('401');
    }
  });

  it('has no operation that is not a route, and every reference resolves', () => {
    const routes = new Set([...API_ROUTES, ...SIGNED_ROUTES].map((r) => `${r.method.toLowerCase()} ${r.path}`));
    routes.add('get /api/v1/openapi.json');
    const operations = Object.entries(document.paths as Json).flatMap(([p, item]) => Object.keys(item).map((m) => `${m} ${p}`));
    expect(new Set(operations)).to.deep.equal(routes);
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/(schemas|examples)\/([^"]+)"/g)];
    const components = document.components as Json;
    for (const [, kind, name] of refs) expect(components[kind!][name!], `${kind}/${name}`).to.not.equal(undefined);
  });

  it('leaves the document open without a key, and every other /api/v1 path keyed', () => {
    expect(accessFor('GET', '/api/v1/openapi.json')).to.deep.equal({ kind: 'open' });
    expect(accessFor('HEAD', '/api/v1/openapi.json')).to.deep.equal({ kind: 'open' });
    expect(accessFor('POST', '/api/v1/openapi.json')).to.deep.equal({ kind: 'key', scope: null });
    expect(accessFor('GET', '/api/v1/openapi.jsonx')).to.deep.equal({ kind: 'key', scope: null });
    expect(accessFor('GET', '/docs')).to.deep.equal({ kind: 'open' });
    expect(accessFor('GET', '/problems/not-found')).to.deep.equal({ kind: 'open' });
  });

  it('documents every problem slug the code throws, with its status', () => {
    const inCode = slugsInCode();
    expect(inCode.size).to.be.greaterThan(30);
    for (const [slug, statuses] of inCode) {
      const type = PROBLEM_TYPE_BY_SLUG.get(slug);
      expect(type, `${slug} is thrown but not in platform/problemTypes`).to.not.equal(undefined);
      expect([...statuses], slug).to.deep.equal([type!.status]);
    }
    // The problems factory's, by calling each.
    const made = [
      problems.validation([{ pointer: '/x', detail: 'is bad' }]),
      problems.malformedJson('x'),
      problems.payloadTooLarge('1mb'),
      problems.unsupportedMediaType('text/plain'),
      problems.notFound('Order', 'x'),
      problems.routeNotFound('GET', '/x'),
      problems.methodNotAllowed('GET', '/x'),
      problems.invalidValue(),
      problems.internal(),
      problems.unavailable('x'),
    ];
    expect(made).to.have.length(Object.keys(problems).length);
    for (const problem of made) expect(PROBLEM_TYPE_BY_SLUG.get(problem.slug)?.status, problem.slug).to.equal(problem.status);
    // And the table holds nothing the code never answers.
    const thrown = new Set([...inCode.keys(), ...made.map((p) => p.slug)]);
    expect(PROBLEM_TYPES.map((p) => p.slug).filter((slug) => !thrown.has(slug))).to.deep.equal([]);
  });

  it('lists every problem type in the document: the Problem schema names them, and each has an example', () => {
    const components = document.components as Json;
    expect(components.schemas.Problem.properties.type.enum).to.have.members(PROBLEM_TYPES.map((p) => `/problems/${p.slug}`));
    for (const type of PROBLEM_TYPES)
      expect(components.examples[type.slug].value).to.include({ status: type.status, title: type.title });
  });

  describe('served', () => {
    let server: http.Server;
    let base: string;
    before(async () => {
      const docs = createDocsHandler();
      server = http.createServer((req, res) => {
        if (!docs(req, res)) res.writeHead(418).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('answers the document at /api/v1/openapi.json', async () => {
      const res = await fetch(`${base}/api/v1/openapi.json`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^application\/json/);
      expect(await res.json()).to.deep.equal(JSON.parse(JSON.stringify(document)));
    });

    it('answers a reference page at /docs whose scripts and styles come from this server only', async () => {
      const res = await fetch(`${base}/docs`);
      expect(res.status).to.equal(200);
      const html = await res.text();
      expect(html).to.not.match(/(src|href)="https?:/);
      const local = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      expect(local).to.include.members(['/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/init.js']);
      for (const asset of local) {
        const got = await fetch(base + asset);
        expect(got.status, asset).to.equal(200);
        expect((await got.arrayBuffer()).byteLength, asset).to.be.greaterThan(100);
      }
      const init = await (await fetch(`${base}/docs/init.js`)).text();
      expect(init).to.include("url: '/api/v1/openapi.json'");
      expect(init).to.not.match(/https?:/);
      expect((await fetch(`${base}/docs/../package.json`)).status).to.equal(418);
      expect((await fetch(`${base}/docs/index.html`)).status).to.equal(418);
    });

    it('answers a page for every problem type at /problems/<slug>, 404 for another slug', async () => {
      for (const type of PROBLEM_TYPES) {
        const res = await fetch(`${base}/problems/${type.slug}`);
        expect(res.status, type.slug).to.equal(200);
        expect(res.headers.get('content-type')).to.match(/^text\/html/);
        const html = await res.text();
        expect(html).to.include(`/problems/${type.slug}`);
        expect(html).to.include(String(type.status));
      }
      const index = await (await fetch(`${base}/problems`)).text();
      for (const type of PROBLEM_TYPES) expect(index).to.include(`href="/problems/${type.slug}"`);
      const unknown = await fetch(`${base}/problems/no-such-problem`);
      expect(unknown.status).to.equal(404);
      expect(await unknown.text()).to.include('no-such-problem');
      expect((await fetch(`${base}/problems/%E0%A4%A`)).status).to.equal(404);
      expect((await fetch(`${base}/problems/<script>`)).status).to.equal(404);
    });
  });
});
