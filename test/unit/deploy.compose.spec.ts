import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { expect } from 'chai';
import { parse } from 'yaml';
import { PGBOUNCER_SETTINGS } from '../support/pgbouncer.js';
import { repoRoot } from '../support/processes.js';

/**
 * docker-compose.yml checked without Docker: this machine's docker CLI has no compose plugin (and no
 * engine), so instead of `docker compose config -q` the file is validated against the Compose
 * Specification's JSON schema (vendored: deploy/schema/compose-spec.json, from compose-spec/compose-spec),
 * then read for what the schema cannot say: pinned images, healthchecks, start order, and PgBouncer set up
 * as test/e2e/pgbouncer.spec.ts proves the services work behind it.
 */

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string };
  ports?: string[];
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

const text = readFileSync(`${repoRoot}docker-compose.yml`, 'utf8');
// Compose resolves YAML merge keys (`<<: *oms-env`), as the yaml package does when asked.
const compose = parse(text, { merge: true }) as ComposeFile;
const services = Object.entries(compose.services);
const env = (service: ComposeService) => service.environment ?? {};
const urlOf = (value: string | number | undefined) => (typeof value === 'string' ? new URL(value) : undefined);

/** The services built from our image (they run our code; the others are pinned images). */
const ours = services.filter(([, s]) => s.build !== undefined);
const pgbouncer = compose.services.pgbouncer;
const listenPort = String(env(pgbouncer ?? {}).LISTEN_PORT ?? '');

describe('docker-compose.yml: valid by the Compose Specification, pinned, healthy, and PgBouncer as tested', () => {
  it('validates against the Compose Specification schema', () => {
    const schema = JSON.parse(readFileSync(`${repoRoot}deploy/schema/compose-spec.json`, 'utf8')) as object;
    // Draft-07, named by an https address ajv does not know it by (so not checked against the
    // meta-schema); its keywords beyond draft-07's vocabulary are annotations (not strict).
    const validate = new Ajv({ strict: false, allErrors: true, validateSchema: false }).compile(schema);
    const valid = validate(parse(text, { merge: true }));
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).to.deep.equal([]);
    expect(valid).to.equal(true);
    // And the check has teeth: a misspelt key, or ports as a map, is refused.
    expect(validate({ services: { api: { image: 'oms:1.0', dependson: ['db'] } } })).to.equal(false);
    expect(validate({ services: { api: { image: 'oms:1.0', ports: { http: 8080 } } } })).to.equal(false);
  });

  it('pins every image it pulls to a version', () => {
    const pulled = services.filter(([, s]) => s.build === undefined);
    expect(pulled.map(([name]) => name)).to.include.members(['postgres', 'pgbouncer', 'redis', 'kafka']);
    for (const [name, service] of pulled)
      expect(service.image, name).to.match(/^[a-z0-9./_-]+:v?\d+\.\d+(\.\d+)?([-.][a-z0-9.-]+)?$/);
  });

  it('gives every infrastructure service a healthcheck, and waits on it (or on setup) before starting a dependant', () => {
    for (const name of ['postgres', 'pgbouncer', 'redis', 'kafka', 'api'])
      expect(compose.services[name]?.healthcheck?.test, `${name} healthcheck`).to.not.equal(undefined);
    for (const [name, service] of services) {
      const depends = service.depends_on ?? {};
      expect(Array.isArray(depends), `${name}: depends_on with conditions, not a list`).to.equal(false);
      for (const [on, { condition }] of Object.entries(depends)) {
        expect(compose.services[on], `${name} depends on ${on}`).to.not.equal(undefined);
        const wanted = compose.services[on]?.healthcheck === undefined ? 'service_completed_successfully' : 'service_healthy';
        expect(condition, `${name} → ${on}`).to.equal(wanted);
      }
    }
    // Every service of ours starts after setup (migrations, roles, topics); setup after the infrastructure.
    for (const [name, service] of ours.filter(([n]) => n !== 'setup'))
      expect(Object.keys(service.depends_on ?? {}), name).to.include('setup');
    expect(Object.keys(compose.services.setup?.depends_on ?? {})).to.include.members(['postgres', 'kafka', 'redis']);
  });

  it('runs PgBouncer as test/e2e/pgbouncer.spec.ts proves: transaction pooling, the same ignored startup parameters', () => {
    expect(pgbouncer, 'a pgbouncer service').to.not.equal(undefined);
    expect(env(pgbouncer!).POOL_MODE).to.equal(PGBOUNCER_SETTINGS.poolMode);
    expect(env(pgbouncer!).IGNORE_STARTUP_PARAMETERS).to.equal(PGBOUNCER_SETTINGS.ignoreStartupParameters);
    expect(listenPort).to.match(/^\d+$/);
    // Its healthcheck asks the port it listens on; it reaches PostgreSQL on PostgreSQL's port.
    expect(JSON.stringify(pgbouncer!.healthcheck?.test)).to.include(`-p ${listenPort}`);
    expect(urlOf(env(pgbouncer!).DATABASE_URL)?.host).to.equal('postgres:5432');
  });

  it('sends what needs a session to PostgreSQL and everything else through PgBouncer, on the port it listens on', () => {
    for (const [name, service] of ours) {
      const e = env(service);
      const database = urlOf(e.DATABASE_URL);
      expect(database, `${name} DATABASE_URL`).to.not.equal(undefined);
      const behindPgBouncer = database!.hostname === 'pgbouncer';
      if (behindPgBouncer) {
        expect(database!.port, `${name}: PgBouncer's LISTEN_PORT`).to.equal(listenPort);
        // Named prepared statements do not survive transaction pooling (PgBouncer < 1.21, as tested).
        expect(e.DB_PREPARED_STATEMENTS, name).to.equal('false');
      } else expect(`${database!.hostname}:${database!.port}`, name).to.equal('postgres:5432');
      // Migrations take a session advisory lock, the relay LISTENs, the sandboxes set their search_path.
      for (const direct of ['MIGRATION_DATABASE_URL', 'SANDBOX_DATABASE_URL', 'LISTEN_DATABASE_URL'] as const) {
        const url = urlOf(e[direct]);
        if (url !== undefined) expect(`${url.hostname}:${url.port}`, `${name} ${direct}`).to.equal('postgres:5432');
      }
      const relay = (service.command ?? []).some((part) => part.includes('relay/main.js'));
      if (relay && behindPgBouncer) expect(e.LISTEN_DATABASE_URL, `${name}: LISTEN on PostgreSQL`).to.not.equal(undefined);
    }
    // The services that run migrations at setup do so directly.
    expect(urlOf(env(compose.services.setup ?? {}).MIGRATION_DATABASE_URL)?.hostname).to.equal('postgres');
    expect(ours.filter(([, s]) => urlOf(env(s).DATABASE_URL)?.hostname === 'pgbouncer').length).to.be.greaterThan(5);
  });

  it('publishes the ports the README names: the API and the PSP sandbox', () => {
    expect(compose.services.api?.ports).to.include('8080:8080');
    expect(compose.services['psp-sandbox']?.ports).to.include('8091:8091');
  });
});
