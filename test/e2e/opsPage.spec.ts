import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { OPS_PATH } from '../../api/opsPage.js';
import { PgDeadLetters, type DeadLetter } from '../../platform/deadLetters.js';
import { eventually, uniqueId } from '../support/env.js';
import { freePorts, type RunningProcess } from '../support/processes.js';
import { addBrokenOrderPlaced } from '../support/deadLetters.js';
import { startServiceProcess, startTestSystem, type TestSystem } from '../support/system.js';

/** What the page's functions use of the browser (tsconfig has no DOM library: the tests run in Node). */
interface BrowserGlobals {
  readonly sessionStorage: { getItem(key: string): string | null };
  readonly document: { getElementById(id: string): { readonly textContent: string | null } | null };
  readonly __xss?: number;
}

/** Debian's package (scripts/ensure-test-tools.sh installs it); never a downloaded browser. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Where the screenshot goes (gitignored). */
const OUTPUT_DIR = path.resolve('test-output');

/**
 * The ops page in a real browser: the API process (api/main.ts) serves /ops and the admin API, a saga
 * worker process beats and reports its PSP breaker as `npm start` runs them, and headless Chromium
 * loads the page with the admin key typed into its form. What the page shows is checked against the
 * API's own answers.
 */
describe('the ops page in headless Chromium: orders by status, dead letters with re-drive, breakers, backlog and the funnel', function () {
  this.timeout(120_000);
  let system: TestSystem;
  let api: RunningProcess;
  let saga: RunningProcess;
  let apiUrl: string;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  const placedIds: string[] = [];
  let sagaLetterId = '';
  const pageErrors: string[] = [];

  before(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is missing at ${CHROMIUM}: run \`bash scripts/ensure-test-tools.sh\` (Debian's package chromium), or set CHROMIUM_PATH`,
      );
    }
    // Quick retries, so a message that keeps failing is dead-lettered within a second; quick heartbeats.
    const env = { CONSUMER_RETRY_BASE_MS: '20', CONSUMER_RETRY_MAX_MS: '100', HEARTBEAT_INTERVAL_MS: '500' };
    system = await startTestSystem({ startSagaWorker: false, analytics: true, env });
    const [apiPort] = await freePorts(1);
    apiUrl = `http://127.0.0.1:${apiPort}`;
    api = await startServiceProcess(system, 'dist/api/main.js', 'api listening', {
      PORT: String(apiPort),
      KAFKA_ORDER_EVENTS_TOPIC: system.topic,
      ...env,
    });
    // The saga worker as its own process: its heartbeat carries its PSP breaker's state to Redis.
    saga = await startServiceProcess(system, 'dist/workers/saga/main.js', 'saga worker running', env);
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'oms-ops-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1400, height: 1000 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
  });

  after(async () => {
    await context?.close().catch(() => undefined);
    if (userDataDir !== undefined) fs.rmSync(userDataDir, { recursive: true, force: true });
    for (const child of [saga, api]) {
      if (child !== undefined && child.child.exitCode === null) {
        child.child.kill('SIGKILL');
        await child.exited;
      }
    }
    await system?.stop();
  });

  it('serves the page without a key, and shows nothing until one is given', async () => {
    const response = await page.goto(`${apiUrl}${OPS_PATH}`);
    expect(response?.status()).to.equal(200);
    expect(response?.headers()['content-security-policy']).to.match(/script-src 'self'/);
    expect(await page.isHidden('#board')).to.equal(true);
    // A key that is not one: refused, nothing shown, and not kept.
    await page.fill('#key-input', 'not-a-key-of-ours');
    await page.click('#key-form button[type=submit]');
    await page.waitForSelector('#status.error');
    expect(await page.textContent('#status')).to.contain('unknown or revoked');
    expect(await page.isHidden('#board')).to.equal(true);
    expect(
      await page.evaluate(() => (globalThis as unknown as BrowserGlobals).sessionStorage.getItem('oms-ops-admin-key')),
    ).to.equal(null);
    // The browser logs the refused calls as console errors: expected here, and only here.
    expect(pageErrors.every((e) => /status of 401/.test(e))).to.equal(true);
    pageErrors.splice(0);
    // Without a key the admin API refuses, so the page has nothing to show.
    expect((await fetch(`${apiUrl}/api/v1/admin/ops`)).status).to.equal(401);
  });

  it('shows the orders by status, dead letters (escaped), breakers, backlog and the funnel as the API answers them', async () => {
    const { skus } = await system.catalog({ prices: [1500], stock: [[50]] });
    for (let i = 0; i < 3; i++) {
      const placed = await system.placeOrder(uniqueId('ops'), [{ sku: skus[0]!, quantity: 1 }]);
      expect(placed.status).to.equal(202);
      placedIds.push(placed.body.order_id as string);
    }
    const declined = await system.placeOrder(uniqueId('ops'), [{ sku: skus[0]!, quantity: 1 }], {
      payment_method: { type: 'card', token: 'tok_chargeDeclined' },
    });
    placedIds.push(declined.body.order_id as string);
    const sagaLetter = await deadLetterOfBrokenOrderPlaced(system, skus[0]!);
    sagaLetterId = sagaLetter.id;
    placedIds.push(sagaLetter.order_id!);
    // A dead letter whose text is markup: the page must show it as text.
    const hostile = await new PgDeadLetters(system.pool, system.logger).record({
      source: '<b>ops-test</b>',
      transport: 'redis-stream',
      stream: `${system.config.redisPrefix}:ops-test`,
      entryId: '1-0',
      type: '<script>window.__xss = 1</script>',
      message: { note: 'ops page test' },
      error: '<img src=x onerror="window.__xss = 2">',
      attempts: 1,
    });

    // Every order decided and projected, and in the funnel: then the page and the API must agree.
    await eventually('every order projected with its final status', async () => {
      const listed = await system.get('/api/v1/orders?limit=100');
      const orders = listed.body.orders as Array<{ order_id: string; status: string }>;
      const final = orders.filter((o) => placedIds.includes(o.order_id) && ['confirmed', 'rejected'].includes(o.status));
      return final.length === placedIds.length ? true : undefined;
    });
    await eventually('the funnel has every order decided', async () => {
      const from = new Date(Date.now() - 3_600_000).toISOString();
      const answer = await system.get(`/api/v1/analytics/funnel?from=${from}`);
      const t = answer.body.totals as { placed: number; confirmed: number; rejected: number };
      return t.placed === placedIds.length && t.confirmed + t.rejected === placedIds.length ? true : undefined;
    });

    // A read through the API process itself, so its own request history has something to show.
    const viaApi = await fetch(`${apiUrl}/api/v1/orders?limit=100`, { headers: { Authorization: `Bearer ${system.adminKey}` } });
    expect(viaApi.status).to.equal(200);

    await page.fill('#key-input', system.adminKey);
    await page.click('#key-form button[type=submit]');
    await page.waitForSelector('#board:not([hidden])');
    await page.waitForSelector(`#dead-rows tr[data-dead-letter-id="${sagaLetter.id}"]`);
    // The key is kept in this tab only, and out of the form.
    expect(
      await page.evaluate(() => (globalThis as unknown as BrowserGlobals).sessionStorage.getItem('oms-ops-admin-key')),
    ).to.equal(system.adminKey);
    expect(await page.inputValue('#key-input')).to.equal('');

    // Orders by status: the page's table against the overview and against the order listing itself.
    const shown = await page.$$eval('#orders-rows tr[data-status]', (rows) =>
      Object.fromEntries(rows.map((r) => [r.getAttribute('data-status'), Number(r.querySelector('.count-cell')?.textContent)])),
    );
    const overview = (await system.get('/api/v1/admin/ops')).body as {
      orders_by_status: Array<{ status: string; count: number }>;
      consumers: Array<{ group: string; pending: number; backlog: number }>;
      breakers: Array<{ partner: string; state: string }>;
      heartbeats: Array<{ kind: string; fresh: boolean }>;
    };
    expect(shown).to.deep.equal(Object.fromEntries(overview.orders_by_status.map((s) => [s.status, s.count])));
    const listed = (await system.get('/api/v1/orders?limit=100')).body.orders as Array<{ status: string }>;
    const byStatus: Record<string, number> = {};
    for (const order of listed) byStatus[order.status] = (byStatus[order.status] ?? 0) + 1;
    expect(shown).to.deep.equal(byStatus);
    expect(shown).to.deep.equal({ confirmed: 4, rejected: 1 });
    expect(await page.textContent('#orders-total')).to.equal('5');

    // Dead letters: the ones the API lists as dead, each with a re-drive button; markup shown as text.
    const dead = ((await system.get('/api/v1/admin/dead-letters?status=dead')).body.dead_letters as DeadLetter[]).map(
      (d) => d.id,
    );
    const rows = await page.$$eval('#dead-rows tr[data-dead-letter-id]', (trs) =>
      trs.map((tr) => tr.getAttribute('data-dead-letter-id')),
    );
    expect(rows.sort()).to.deep.equal([...dead].sort());
    expect(rows).to.include.members([sagaLetter.id, hostile.id]);
    const sagaRow = page.locator(`#dead-rows tr[data-dead-letter-id="${sagaLetter.id}"]`);
    expect(await sagaRow.textContent())
      .to.contain('saga')
      .and.contain('order.placed')
      .and.contain('not a saga id');
    const hostileRow = page.locator(`#dead-rows tr[data-dead-letter-id="${hostile.id}"]`);
    expect(await hostileRow.textContent())
      .to.contain('<b>ops-test</b>')
      .and.contain('<img src=x onerror="window.__xss = 2">');
    expect(await page.$$('#dead-rows img, #dead-rows b, #dead-rows script')).to.have.length(0);
    expect(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).__xss)).to.equal(undefined);

    // Consumer groups, breakers and workers as the overview reports them.
    const groups = await page.$$eval('#consumer-rows tr[data-group]', (trs) => trs.map((tr) => tr.getAttribute('data-group')));
    expect(groups).to.deep.equal(overview.consumers.map((g) => g.group));
    expect(groups).to.include.members(['saga', 'projector']);
    expect(overview.breakers.find((b) => b.partner === 'psp')?.state).to.equal('closed');
    expect(await page.textContent('#breaker-rows tr[data-partner="psp"] .badge')).to.equal('closed');
    expect(overview.heartbeats.find((h) => h.kind === 'saga-worker')?.fresh).to.equal(true);
    expect(await page.isVisible('#worker-rows tr[data-kind="saga-worker"] .badge.fresh')).to.equal(true);
    expect(await page.isVisible('#worker-rows tr[data-kind="api"] .badge.fresh')).to.equal(true);

    // Throughput: one bar per minute of the window, the placed counts summing to what was placed.
    const placedBars = await page.$$eval('#throughput-chart rect.bar', (rects) =>
      rects.map((r) => Number(r.getAttribute('data-value'))),
    );
    expect(placedBars).to.have.length(15);
    expect(placedBars.reduce((a, b) => a + b, 0)).to.equal(placedIds.length);
    // The API process's own requests per minute: the page's calls to it are among them.
    const requestBars = await page.$$eval('#requests-chart rect.bar', (rects) =>
      rects.map((r) => Number(r.getAttribute('data-value'))),
    );
    expect(requestBars).to.have.length(15);
    expect(requestBars.reduce((a, b) => a + b, 0)).to.be.at.least(1);
    // The funnel chart: its bars' values are the funnel endpoint's totals.
    const funnelText = await page.$$eval('#funnel-chart svg text', (texts) => texts.map((t) => t.textContent ?? ''));
    expect(funnelText).to.include.members(['placed', 'confirmed', 'rejected', String(placedIds.length)]);
    expect(await page.textContent('#relay-rows')).to.match(/kafka|redis/);

    // A screenshot to look at (test-output/ is gitignored).
    fs.mkdirSync(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'ops.png'), fullPage: true });
    expect(pageErrors).to.deep.equal([]);
  });

  it('re-drives a dead letter from its button, as the admin API records it', async () => {
    expect(sagaLetterId).to.not.equal('');
    const target = { id: sagaLetterId };
    await page.click(`#dead-rows tr[data-dead-letter-id="${target.id}"] button.redrive`);
    await page.waitForFunction(() =>
      /re-driven/.test((globalThis as unknown as BrowserGlobals).document.getElementById('status')?.textContent ?? ''),
    );
    const after = await eventually('the dead letter re-driven', async () => {
      const list = (await system.get('/api/v1/admin/dead-letters?group=saga')).body.dead_letters as DeadLetter[];
      const letter = list.find((l) => l.id === target.id);
      return letter !== undefined && letter.redrives === 1 ? letter : undefined;
    });
    expect(after.redriven_at).to.be.a('string');
    expect(await page.textContent('#status')).to.contain(target.id);
    expect(pageErrors).to.deep.equal([]);
  });
});

/** An order.placed copy that names no saga (as deadLetters.admin.spec does): the saga group dead-letters it. */
async function deadLetterOfBrokenOrderPlaced(system: TestSystem, sku: string): Promise<DeadLetter> {
  const eventId = await addBrokenOrderPlaced(system, sku);
  return eventually('dead-lettered by the saga group', async () => {
    const list = (await system.get('/api/v1/admin/dead-letters?group=saga&status=dead')).body.dead_letters as DeadLetter[];
    return list.find((l) => l.event_id === eventId);
  });
}
