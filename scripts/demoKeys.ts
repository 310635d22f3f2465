import { writeFileSync } from 'node:fs';
import { API_CHANNELS, bearerToken, Scope, type ScopeName } from '../platform/access.js';
import { createApiKey, ensureKnownApiKey, hasApiKeys } from '../platform/apiKeys.js';
import type { Config } from '../platform/config.js';
import { createPool } from '../platform/db.js';

/** OMS_BOOTSTRAP_ADMIN_KEY, checked: a key a client can send as a Bearer token, and not a short one. */
function checkedBootstrapKey(config: Config): string | undefined {
  const known = config.bootstrapAdminKey;
  if (known !== undefined && (bearerToken(`Bearer ${known}`) !== known || known.length < 16)) {
    throw new Error('OMS_BOOTSTRAP_ADMIN_KEY must be at least 16 characters of A-Z a-z 0-9 - . _ ~ + /');
  }
  return known;
}

/** `npm run setup` (deployments): only the known admin key of OMS_BOOTSTRAP_ADMIN_KEY, when set; no demo keys. */
export async function ensureBootstrapAdminKey(config: Config, say: (line: string) => void): Promise<void> {
  const known = checkedBootstrapKey(config);
  if (known === undefined) return;
  const pool = createPool({ databaseUrl: config.databaseUrl, schema: config.databaseSchema, max: 1 });
  try {
    const outcome = await ensureKnownApiKey(pool, { name: 'bootstrap admin', channel: null, scopes: [Scope.admin], key: known });
    say(
      outcome === 'created'
        ? 'keys: created the admin key of OMS_BOOTSTRAP_ADMIN_KEY'
        : 'keys: the admin key of OMS_BOOTSTRAP_ADMIN_KEY exists',
    );
  } finally {
    await pool.end();
  }
}

/** What a channel's demo key may do: place, change and read its orders, refund them, and subscribe to their webhooks. */
const CHANNEL_SCOPES: readonly ScopeName[] = [Scope.ordersWrite, Scope.ordersRead, Scope.refundsWrite, Scope.webhooksWrite];

/**
 * `npm start`'s keys (contract §8): on a database without any key, a demo admin key (OMS_BOOTSTRAP_ADMIN_KEY
 * when set) and one key per channel, printed and written to `file` (git-ignored) so the README's
 * examples work as written. A known OMS_BOOTSTRAP_ADMIN_KEY is made sure of on every start.
 */
export async function ensureDemoKeys(config: Config, file: string, say: (line: string) => void): Promise<void> {
  const known = checkedBootstrapKey(config);
  const pool = createPool({ databaseUrl: config.databaseUrl, schema: config.databaseSchema, max: 1 });
  try {
    if (await hasApiKeys(pool)) {
      if (
        known !== undefined &&
        (await ensureKnownApiKey(pool, { name: 'bootstrap admin', channel: null, scopes: [Scope.admin], key: known })) ===
          'created'
      )
        say('keys: created the admin key of OMS_BOOTSTRAP_ADMIN_KEY');
      else say(`keys: API keys exist; left as they are (the demo keys, if any, are in ${file})`);
      return;
    }
    const admin = await createApiKey(pool, {
      name: 'demo admin',
      channel: null,
      scopes: [Scope.admin],
      ...(known === undefined ? {} : { key: known }),
    });
    const channels: Record<string, { key_id: string; key: string; scopes: readonly ScopeName[] }> = {};
    for (const channel of API_CHANNELS) {
      const created = await createApiKey(pool, { name: `demo ${channel}`, channel, scopes: CHANNEL_SCOPES });
      channels[channel] = { key_id: created.key_id, key: created.key, scopes: created.scopes };
    }
    const written = { admin: { key_id: admin.key_id, key: admin.key, scopes: admin.scopes }, channels };
    writeFileSync(file, `${JSON.stringify(written, null, 2)}\n`, { mode: 0o600 });
    say(`keys: created the demo keys (shown this once; also in ${file}):`);
    say(`  admin        ${known === undefined ? admin.key : '(OMS_BOOTSTRAP_ADMIN_KEY)'}`);
    for (const [channel, key] of Object.entries(channels)) say(`  ${channel.padEnd(12)} ${key.key}`);
  } finally {
    await pool.end();
  }
}
