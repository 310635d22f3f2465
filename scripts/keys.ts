import { isApiChannel, isScope, type ScopeName } from '../platform/access.js';
import { createApiKey, listApiKeys, revokeApiKey, type ApiKeyListing } from '../platform/apiKeys.js';
import { loadConfig } from '../platform/config.js';
import { poolFromConfig } from '../platform/db.js';
import { canonicalUuid, isUuid } from '../platform/ids.js';
import { parseCommandLine, stopped } from './cli.js';

/**
 * The API key tool (the admin API's `…/admin/api-keys` on the command line, contract §8). A created
 * key is printed this once; only its SHA-256 is stored. A revoked key is refused by every API process
 * within API_KEY_CACHE_MS (5 s by default).
 */
const USAGE = `usage: npm run keys -- create --name NAME --scopes S1,S2 [--channel web|mobile|pos|marketplace] [--rate PER_SECOND/BURST]
       npm run keys -- list
       npm run keys -- revoke <key_id>
       npm run keys -- --help
scopes: orders:write, orders:read, refunds:write, catalog:write, webhooks:write, admin`;

const OPTIONS = {
  name: { type: 'string' },
  scopes: { type: 'string' },
  channel: { type: 'string' },
  rate: { type: 'string' },
} as const;

function line(k: ApiKeyListing): string {
  const rate = k.rate_limit === null ? 'default rate' : `${k.rate_limit.per_second}/s burst ${k.rate_limit.burst}`;
  return `${k.key_id}  ${k.key_prefix}…  ${k.name}  channel ${k.channel ?? '-'}  [${k.scopes.join(' ')}]  ${rate}  created ${k.created_at}${k.revoked_at === null ? '' : `  REVOKED ${k.revoked_at}`}`;
}

export async function main(argv: readonly string[], say: (text: string) => void = console.log): Promise<number> {
  const parsed = parseCommandLine('keys', argv, OPTIONS, USAGE);
  if (stopped(parsed)) return parsed.exitCode;
  const [command, ...positional] = parsed.positionals;
  const options = new Map(Object.entries(parsed.values).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const fail = (why: string) => {
    console.error(`${why}\n${USAGE}`);
    return 2;
  };

  let create: Parameters<typeof createApiKey>[1] | undefined;
  if (command === 'create') {
    const name = options.get('name');
    if (name === undefined || name.length === 0 || name.length > 200) return fail('create needs --name (1–200 characters)');
    const scopes = (options.get('scopes') ?? '').split(',').filter((s) => s.length > 0);
    if (scopes.length === 0 || !scopes.every(isScope)) return fail('--scopes must list known scopes, comma-separated');
    const channel = options.get('channel');
    if (channel !== undefined && !isApiChannel(channel)) return fail('--channel must be web, mobile, pos or marketplace');
    const rate = options.get('rate');
    const match = rate === undefined ? undefined : /^([1-9][0-9]{0,6})\/([1-9][0-9]{0,6})$/.exec(rate);
    if (rate !== undefined && match == null) return fail('--rate must be PER_SECOND/BURST, e.g. 10/20');
    create = {
      name,
      channel: channel ?? null,
      scopes: scopes as ScopeName[],
      ...(match == null ? {} : { rateLimit: { perSecond: Number(match[1]), burst: Number(match[2]) } }),
    };
  } else if (command === 'revoke') {
    if (positional[0] === undefined || !isUuid(positional[0])) return fail('revoke needs a key id');
  } else if (command !== 'list') {
    return fail(command === undefined ? 'no command' : `unknown command ${command}`);
  }

  const config = loadConfig();
  const pool = poolFromConfig(config, 'keys-cli');
  try {
    if (create !== undefined) {
      const created = await createApiKey(pool, create);
      say(`created ${line(created)}`);
      say(`key (shown this once): ${created.key}`);
    } else if (command === 'list') {
      const keys = await listApiKeys(pool);
      say(`${keys.length} API key(s)`);
      for (const k of keys) say(`  ${line(k)}`);
    } else {
      const revoked = await revokeApiKey(pool, canonicalUuid(positional[0] as string));
      if (revoked === undefined) {
        console.error(`no API key ${positional[0]}`);
        return 1;
      }
      say(`revoked ${line(revoked)}`);
      say(`every API process refuses it within ${config.apiKeyCacheMs} ms (API_KEY_CACHE_MS)`);
    }
    return 0;
  } finally {
    await pool.end();
  }
}

if (process.argv[1]?.endsWith('keys.js')) {
  process.exitCode = await main(process.argv.slice(2));
}
