/**
 * Tests declared on gold models run after the model is written and before it is published, in the
 * synthesized workflow run locally: when they pass the model is published; when one fails the model is
 * not (its previous version stays), the run fails and its report names each failing test with its count.
 * A full model (store_revenue) and an incremental one (daily_orders) on the sample data, three runs on one
 * lake.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPipeline } from '../../local/commands/pipeline';
import type { PipelineReport } from '../../local/report/pipeline-report';
import { freePort } from '../support/free-port';

const MODELS = join(__dirname, 'fixtures', 'gold-tests', 'models');

describe('gold model tests', () => {
  let state: string;
  let first: PipelineReport;
  // One S3 port for the three runs: the handlers keep the environment they were loaded with.
  let port: number;
  beforeAll(async () => {
    state = mkdtempSync(join(tmpdir(), 'medallion-gold-tests-'));
    port = await freePort();
  });
  afterAll(() => rmSync(state, { recursive: true, force: true }));

  const run = (models: string, options: { keepState?: boolean; fullRefresh?: boolean } = {}) => {
    const lines: string[] = [];
    return runPipeline({
      modelsDir: join(MODELS, models),
      stateDir: state,
      port,
      apiPort: 0,
      out: (l) => lines.push(l),
      ...options,
    }).then((report) => ({ report, printed: lines.join('\n') }));
  };

  it('publishes every model whose tests pass (full and incremental)', async () => {
    const { report } = await run('passing');
    first = report;
    expect(report.gold?.failures).toEqual([]);
    // The run's own `ok` also weighs silver (the samples quarantine rows): gold's is the one here.
    expect(report.gold?.ok).toBe(true);
    const tables = report.gold?.tables ?? {};
    expect(tables.store_revenue).toMatchObject({ publishedNow: true, rows: 3 });
    expect(tables.store_revenue.location).toContain(`/store_revenue/v=${report.gold?.executionName}/`);
    expect(tables.daily_orders.publishedNow).toBe(true);
    expect(tables.daily_orders.rows).toBeGreaterThan(0);
  }, 300_000);

  it('keeps the previous version of a full model whose tests fail, naming each failing test and its count', async () => {
    const { report, printed } = await run('failing-full', { keepState: true });
    expect(report.ok).toBe(false);
    expect(report.gold).toMatchObject({ ok: false, status: 'FAILED' });
    const tables = report.gold?.tables ?? {};
    // Still the first run's version, with its rows.
    expect(tables.store_revenue.publishedNow).toBe(false);
    expect(tables.store_revenue.location).toBe(first.gold?.tables.store_revenue.location);
    expect(tables.store_revenue.rows).toBe(3);
    expect(report.gold?.failures).toEqual([
      {
        model: 'store_revenue',
        error: 'GoldTestFailed',
        message: expect.stringMatching(
          /^2 of 5 test\(s\) failed: accepted_values\(store_id, 'S1'\): 2 failing row\(s\); expression\(revenue < 100\): \d+ failing row\(s\)\. Every count: unique\(store_id\)=0; not_null\(store_id\)=0; accepted_values\(store_id, 'S1'\)=2; /,
        ),
        file: join(MODELS, 'failing-full', 'store_revenue.sql'),
      },
    ]);
    const message = report.gold?.failures[0].message ?? '';
    expect(message).toContain(`/store_revenue/v=${report.gold?.executionName}/`);
    expect(message).toContain('_staging.store_revenue');
    expect(printed).toMatch(/gold model store_revenue failed at \S*store_revenue\.sql \(GoldTestFailed\):/);
  }, 300_000);

  it('switches no partition of an incremental model whose tests fail', async () => {
    const { report } = await run('failing-incremental', { keepState: true, fullRefresh: true });
    expect(report.gold?.ok).toBe(false);
    const tables = report.gold?.tables ?? {};
    expect(tables.store_revenue.publishedNow).toBe(true);
    expect(tables.daily_orders.publishedNow).toBe(false);
    // Readers still see the first run's partitions.
    expect(tables.daily_orders.rows).toBe(first.gold?.tables.daily_orders.rows);
    expect(report.gold?.failures).toEqual([
      {
        model: 'daily_orders',
        error: 'GoldTestFailed',
        message: expect.stringMatching(
          /^1 of 6 test\(s\) failed: accepted_values\(store_id, 'S1'\): \d+ failing row\(s\)\./,
        ),
        file: join(MODELS, 'failing-incremental', 'daily_orders.sql'),
      },
    ]);
  }, 300_000);
});
