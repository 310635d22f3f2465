import fs from 'node:fs';
import path from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/*
 * The import rules of docs/architecture.md, one block per folder:
 * - domain/ imports only domain/ (and no I/O library);
 * - platform/ and db/ are plumbing: no domain/, no store/, no service;
 * - store/ is the order store (its SQL): it imports domain/ and platform/, never a service;
 * - a service (each folder below) imports domain/, store/ and platform/, never another service; api/ is
 *   the composition root and may import the services it composes; a simulator imports neither domain/
 *   nor store/ (a sandbox partner speaks a protocol and keeps its own books);
 * - the tools (test/, bench/, chaos/, fuzz/, scripts/) may import anything, and nothing imports them.
 * Imports are relative, so the patterns are computed per directory (`../../domain/**` from two down).
 */
const SERVICES = [
  'api',
  'command-service',
  'query-service',
  'relay',
  'workers/changes',
  'workers/fulfillment',
  'workers/router',
  'workers/saga',
  'workers/tracking',
  'workers/webhooks',
  'simulators/carrier',
  'simulators/psp',
  'simulators/wms',
];
const TOOLS = ['test', 'bench', 'chaos', 'fuzz', 'scripts'];
/** What api/, the composition root, wires together in one process. */
const COMPOSED_BY_API = ['command-service', 'query-service'];

/**
 * Known debt: imports that break the rules above, each allowed for its file only, so the rule holds
 * everywhere else and what is left stays visible.
 */
const EXCEPTIONS = {
  // One retry policy for every retry (consumers and sagas alike) lives in domain/ because every saga
  // workflow, pure, computes its retry times with it.
  'platform/config.ts': ['domain/retryPolicy.ts'],
  'platform/kafkaConsumer.ts': ['domain/retryPolicy.ts'],
  'platform/streamConsumer.ts': ['domain/retryPolicy.ts'],
};

const IO_LIBRARIES = ['pg', 'knex', 'ioredis', 'kafkajs', 'express', 'opossum', 'node:*'];

function directoriesUnder(folder) {
  const entries = fs.readdirSync(folder, { withFileTypes: true }).filter((e) => e.isDirectory());
  return [folder, ...entries.flatMap((e) => directoriesUnder(path.posix.join(folder, e.name)))];
}

function relative(fromDir, to) {
  const rel = path.posix.relative(fromDir, to);
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/** One block per directory under `folder` (and one per excepted file): `forbidden` folders may not be imported. */
function importRules(folder, groups, extra = []) {
  const block = (dir, files, allowed) => ({
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...groups.map(({ forbidden, message }) => ({
              group: [
                ...forbidden.map((f) => `${relative(dir, f)}/**`),
                ...allowed.map((a) => `!${relative(dir, a).replace(/\.ts$/, '.js')}`),
              ],
              message,
            })),
            ...extra,
          ],
        },
      ],
    },
  });
  return directoriesUnder(folder).flatMap((dir) => [
    block(dir, [`${dir}/*.ts`], []),
    ...Object.entries(EXCEPTIONS)
      .filter(([file]) => path.posix.dirname(file) === dir)
      .map(([file, allowed]) => block(dir, [file], allowed)),
  ]);
}

const noTools = { forbidden: TOOLS, message: 'Nothing imports the tools (test/, bench/, chaos/, fuzz/, scripts/).' };
const noServices = { forbidden: SERVICES, message: 'Plumbing and the store import no service (docs/architecture.md).' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
  // The ops page's script runs in the browser, as a classic script (api/ops/, served by api/opsPage.ts).
  {
    files: ['api/ops/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(
        ['document', 'sessionStorage', 'fetch', 'Node', 'setInterval', 'clearInterval'].map((name) => [name, 'readonly']),
      ),
    },
  },
  // domain/ is pure: it imports only domain/ and no I/O library (conventions).
  ...importRules(
    'domain',
    [],
    [
      { group: ['../**'], message: 'domain/ imports only domain/ (docs/architecture.md).' },
      { group: IO_LIBRARIES, message: 'domain/ is pure: no I/O libraries (conventions).' },
    ],
  ),
  ...['platform', 'db'].flatMap((folder) =>
    importRules(folder, [
      {
        forbidden: ['domain', 'store'],
        message: 'platform/ and db/ are plumbing: no domain/, no store/ (docs/architecture.md).',
      },
      noServices,
      noTools,
    ]),
  ),
  // store/ is the order store: its SQL over domain/ types and platform/ plumbing, used by the services.
  ...importRules('store', [noServices, noTools]),
  ...SERVICES.flatMap((service) =>
    importRules(service, [
      {
        forbidden: SERVICES.filter((s) => s !== service && !(service === 'api' && COMPOSED_BY_API.includes(s))),
        message: 'A service never imports another service; they share domain/ and platform/ (docs/architecture.md).',
      },
      ...(service.startsWith('simulators/')
        ? [
            {
              forbidden: ['domain', 'store'],
              message: 'A sandbox partner imports no domain/ and no store/ (docs/architecture.md).',
            },
          ]
        : []),
      noTools,
    ]),
  ),
);
