/**
 * `medallion local` (startLocal, in process, over a real local cloud) prints a line per file and serves the
 * dashboard; the page, opened in headless Chromium (Debian's, driven by playwright-core), shows the numbers
 * of the files landed and updates live. The screenshot lands in a temporary directory, or in
 * docs/local-dashboard.png (the README's) with MEDALLION_UPDATE_SCREENSHOT=1.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { LocalCloud } from '../../../local/cloud/local-cloud';
import { loadLocalWiring } from '../../../local/cloud/template-wiring';
import { prepareState } from '../../../local/commands/inputs';
import { startLocal } from '../../../local/commands/local';
import type { AlarmResult, DashboardSnapshot } from '../../../local/dashboard/dashboard-model';
import type { LocalDashboard } from '../../../local/dashboard/local-dashboard';

const ROOT = resolve(__dirname, '..', '..', '..');
const CONTRACTS = join(ROOT, 'samples', 'contracts');
const CHROMIUM = '/usr/bin/chromium';
/** Set to 1 to write the screenshot the README shows (docs/local-dashboard.png). */
const UPDATE_SCREENSHOT = process.env.MEDALLION_UPDATE_SCREENSHOT === '1';
/** Where the screenshot goes otherwise (kept, overwritten by the next run: look at it). */
const SCREENSHOT_NAME = 'medallion-local-dashboard.png';
/** Wirings synthesized once for every test run on this machine (synthesis takes ~10 s). */
const SHARED_WIRING_CACHE = join(tmpdir(), 'medallion-test-wiring');

const HEADER =
  'order_id,order_ts,updated_at,customer_id,store_id,product_id,quantity,unit_price,currency,status';
const row = (id: string, quantity: number) =>
  `${id},2026-11-01 08:12:05,2026-11-01T07:12:05Z,C001,S1,P004,${quantity},18.90,EUR,placed`;
const FILES = {
  good: [HEADER, row('O-1', 2), row('O-2', 1), row('O-3', 4)].join('\n'),
  /** Two rows quarantined: an order id out of pattern, a quantity under the minimum. */
  mixed: [HEADER, row('O-4', 1), row('X-5', 1), row('O-6', 0), row('O-7', 3)].join('\n'),
  /** No column of the contract: the whole file is rejected. */
  broken: 'foo,bar\n1,2\n',
};

describe('the local dashboard and lines of `medallion local`', () => {
  let dir: string;
  let state: string;
  const lines: string[] = [];
  let stop: () => void;
  let running: Promise<void>;
  let cloud: LocalCloud;
  let dashboard: LocalDashboard;
  let browser: Browser;
  let page: Page;

  /** A stand-in for the alarm evaluation (its own module is wired in by the CLI): the quarantine ratio alarm. */
  const alarms = (): AlarmResult[] =>
    dashboard.model.snapshot().datasets.map((d) => ({
      alarmId: `QuarantineRatio-${d.dataset}`,
      alarmName: `${d.dataset}: quarantine ratio`,
      state:
        d.quarantineRatio === null
          ? 'INSUFFICIENT_DATA'
          : d.quarantineRatio > (d.maxQuarantineRatio ?? 1)
            ? 'ALARM'
            : 'OK',
      line:
        d.quarantineRatio === null
          ? 'no rows yet'
          : `quarantined ${(100 * d.quarantineRatio).toFixed(1)}% of rows, max ${100 * (d.maxQuarantineRatio ?? 1)}%`,
    }));

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install chromium (this test drives it)`);
    }
    const t0 = Date.now();
    dir = mkdtempSync(join(tmpdir(), 'medallion-dashboard-'));
    state = join(dir, 'state');
    prepareState(state, true);
    // The wiring from a shared cache, so that only the first test run on a machine synthesizes.
    const { cacheFile } = loadLocalWiring({ contractsDir: CONTRACTS, cacheDir: SHARED_WIRING_CACHE });
    mkdirSync(join(state, 'cache'), { recursive: true });
    copyFileSync(cacheFile as string, join(state, 'cache', basename(cacheFile as string)));

    const launching = chromium
      .launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      })
      .then((b) => {
        browser = b;
      });
    const until = new Promise<void>((r) => {
      stop = r;
    });
    const started = new Promise<void>((ready, fail) => {
      running = startLocal({
        contractsDir: CONTRACTS,
        stateDir: state,
        port: 0,
        apiPort: 0,
        dashboardPort: 0,
        alarms,
        out: (line) => lines.push(line),
        until: () => until,
        onStarted: (c, d) => {
          cloud = c;
          dashboard = d as LocalDashboard;
          ready();
        },
      });
      running.catch(fail);
    });
    try {
      await started;
    } finally {
      await launching;
    }
    process.stdout.write(`local cloud and Chromium started in ${Date.now() - t0} ms\n`);
    // A fresh profile per context (no cache, no stored state).
    page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    stop?.();
    await running?.catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const upload = (key: string, body: string) =>
    cloud.s3.send(new PutObjectCommand({ Bucket: cloud.buckets.landing, Key: key, Body: body }));

  /** Waits for the lines matching every pattern, in the order given among them. */
  async function linesMatching(patterns: RegExp[], timeoutMs = 20_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = patterns.map((p) => lines.findIndex((l) => p.test(l)));
      if (found.every((i) => i >= 0)) return found.map((i) => lines[i]);
      if (Date.now() > deadline)
        throw new Error(`no line matching ${patterns[found.indexOf(-1)]} in:\n${lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('prints the dashboard URL in the banner', () => {
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(lines).toContain(`  dashboard   ${dashboard.url}`);
  });

  it('prints one line per landed, transformed or quarantined file', async () => {
    await upload('retail/orders/orders-good.csv', FILES.good);
    await upload('retail/orders/orders-mixed.csv', FILES.mixed);
    await upload('retail/orders/broken.csv', FILES.broken);
    await upload('nowhere/thing/x.csv', 'a,b\n');
    const got = await linesMatching([
      /^landed retail\/orders\/orders-good\.csv /,
      /^transformed retail\/orders\/orders-good\.csv: /,
      /^landed retail\/orders\/orders-mixed\.csv /,
      /^transformed retail\/orders\/orders-mixed\.csv: /,
      /^landed retail\/orders\/broken\.csv /,
      /^quarantined file retail\/orders\/broken\.csv: /,
      /^quarantined file nowhere\/thing\/x\.csv: /,
    ]);
    expect(got).toEqual([
      `landed retail/orders/orders-good.csv -> bronze (${FILES.good.length} B)`,
      'transformed retail/orders/orders-good.csv: 3 rows in, 3 out, 0 quarantined',
      `landed retail/orders/orders-mixed.csv -> bronze (${FILES.mixed.length} B)`,
      'transformed retail/orders/orders-mixed.csv: 4 rows in, 2 out, 2 quarantined (order_id|regex 1, quantity|min 1)',
      `landed retail/orders/broken.csv -> bronze (${FILES.broken.length} B)`,
      expect.stringMatching(/^quarantined file retail\/orders\/broken\.csv: \S.*$/),
      "quarantined file nowhere/thing/x.csv: no data contract declares dataset 'thing'",
    ]);
    // Each file's landing comes before its transform.
    for (const name of ['orders-good', 'orders-mixed']) {
      const at = (verb: string) => lines.findIndex((l) => l.startsWith(`${verb} retail/orders/${name}.csv`));
      expect(at('landed')).toBeLessThan(at('transformed'));
    }
  });

  it('answers JSON on /api/dashboard and nothing to another Host', async () => {
    const json = (await (await fetch(`${dashboard.url}api/dashboard`)).json()) as DashboardSnapshot;
    const orders = json.datasets.find((d) => d.id === 'retail/orders');
    expect(orders?.files).toMatchObject({ landed: 3, transformed: 3, quarantined: 1 });
    expect(orders?.rows).toEqual({ in: 7, out: 5, quarantined: 2, duplicates: 0 });
    expect(json.unrouted.count).toBe(1);
    // What a page on another site reaches through DNS rebinding: the loopback address under its own name.
    const rebound = await new Promise<number | undefined>((done, fail) =>
      request(`${dashboard.url}api/dashboard`, { headers: { host: 'example.com' } }, (res) => {
        res.resume();
        done(res.statusCode);
      })
        .on('error', fail)
        .end(),
    );
    expect(rebound).toBe(403);
  });

  it('shows the numbers in Chromium and updates them live', async () => {
    const t0 = Date.now();
    const orders = page.locator('[data-dataset="retail/orders"]');
    const customers = page.locator('[data-dataset="retail/customers"]');
    const metric = (section: typeof orders, name: string) => section.locator(`[data-metric="${name}"]`);
    await page.goto(dashboard.url);
    await page.locator('#connection', { hasText: 'live' }).waitFor();
    await expectText(metric(orders, 'files.landed'), '3');
    await expectText(metric(orders, 'files.quarantined'), '1');
    await expectText(metric(orders, 'rows.in'), '7');
    await expectText(metric(orders, 'rows.out'), '5');
    await expectText(metric(orders, 'rows.quarantined'), '2');
    await expectText(metric(orders, 'quarantine.ratio'), '28.6%');
    await expectText(page.locator('[data-metric="unrouted"]'), '1');
    await expectText(page.locator('[data-metric="dead-letters"]'), '0');
    await expectText(page.locator('[data-alarm="QuarantineRatio-orders"] .pill'), 'ALARM');
    await expectText(metric(customers, 'files.landed'), '0');

    // Another landing (through the API this time): the open page follows without a reload.
    const ndjson = [
      {
        customer_id: 'C900',
        email: 'a@example.com',
        full_name: 'A',
        country: 'FR',
        signup_date: '2024-01-02',
      },
      { customer_id: 'C901', email: 'b@example.com', full_name: 'B', country: 'DE', signup_date: 'soon' },
    ]
      .map((r) => JSON.stringify({ ...r, updated_at: '2026-10-02T09:00:00Z' }))
      .join('\n');
    const answer = await cloud.api('customers', ndjson, {
      'content-type': 'application/x-ndjson',
      'x-file-name': 'customers-live.ndjson',
    });
    expect(answer.statusCode).toBe(202);
    await expectText(metric(customers, 'files.landed'), '1');
    await expectText(metric(customers, 'rows.in'), '2');
    await expectText(metric(customers, 'rows.quarantined'), '1');
    await expect(metric(customers, 'lag.last').textContent()).resolves.toMatch(/^\d+\.\d s$/);
    await page
      .locator('#recent', { hasText: 'transformed retail/customers/customers-live.ndjson' })
      .waitFor();
    expect(lines).toContain(`landed retail/customers/customers-live.ndjson -> bronze (${ndjson.length} B)`);

    const file = UPDATE_SCREENSHOT
      ? join(ROOT, 'docs', 'local-dashboard.png')
      : join(tmpdir(), SCREENSHOT_NAME);
    mkdirSync(dirname(file), { recursive: true });
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(10_000);
    process.stdout.write(`dashboard in Chromium: ${Date.now() - t0} ms; screenshot ${file}\n`);
  }, 30_000);
});

/** Waits (up to 10 s) until the element's text is `text`. */
async function expectText(locator: ReturnType<Page['locator']>, text: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  let seen: string | null = null;
  while (Date.now() < deadline) {
    seen = await locator.first().textContent({ timeout: 10_000 });
    if (seen?.trim() === text) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`expected ${locator} to show ${JSON.stringify(text)}, it shows ${JSON.stringify(seen)}`);
}
