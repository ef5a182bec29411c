/**
 * The data products' SLIs of a local run, judged by the burn-rate thresholds the CloudWatch alarms use:
 * quality against its objective's budget, freshness against its objective, gold models' publication.
 */
import { parseContract } from '../../../core/contracts/dataset-contract';
import type { GoldModel } from '../../../core/gold/models';
import { BURN_RATE_ALERTS, budgetAlert, burnRate } from '../../../core/slo/error-budget';
import { LocalMetrics } from '../../../local/monitoring/local-metrics';
import { productSlis, sloAlertLines } from '../../../local/monitoring/product-slis';

const contract = (sla: Record<string, unknown>) =>
  parseContract(
    {
      domain: 'retail',
      dataset: 'orders',
      source: { format: 'csv' },
      columns: [
        { name: 'id', type: 'string', required: true },
        { name: 'ts', type: 'timestamp', required: true },
      ],
      primaryKey: ['id'],
      partition: { column: 'ts' },
      sla,
    },
    'orders.yaml',
  );

/** A run's transform metrics, as the local cloud records them from the EMF lines. */
function run(
  rowsIn: number,
  quarantined: number,
  lagSeconds?: number,
  stated?: { expected: number; missing: number },
): LocalMetrics {
  const metrics = new LocalMetrics();
  const put = (name: string, value: number) =>
    metrics.put({
      namespace: 'Medallion',
      name,
      dimensions: { Dataset: 'orders' },
      timestamp: Date.now(),
      value,
      unit: 'Count',
    });
  put('RowsIn', rowsIn);
  put('RowsQuarantined', quarantined);
  if (lagSeconds !== undefined) put('TransformLagSeconds', lagSeconds);
  if (stated) {
    put('RowsExpected', stated.expected);
    put('RowsMissing', stated.missing);
  }
  return metrics;
}

describe('error budgets', () => {
  test('burn rate: the error ratio over the budget; the workbook thresholds decide page or ticket', () => {
    expect(burnRate(0.01, 0.99)).toBeCloseTo(1, 10);
    expect(burnRate(0.144, 0.99)).toBeCloseTo(14.4, 10);
    expect(BURN_RATE_ALERTS.map((a) => [a.severity, a.burnRate, a.longMinutes])).toEqual([
      ['page', 14.4, 60],
      ['page', 6, 360],
      ['ticket', 1, 4320],
    ]);
    expect([20, 14.4, 6, 5.9, 1, 0.99, 0].map(budgetAlert)).toEqual([
      'page',
      'page',
      'page',
      'ticket',
      'ticket',
      'none',
      'none',
    ]);
    expect(() => burnRate(0.1, 1)).toThrow(/an objective is a ratio in \(0, 1\)/);
  });
});

describe('quality', () => {
  test.each([
    [200, 40, 'page', 20],
    [1000, 20, 'ticket', 2],
    [1000, 5, 'none', 0.5],
  ])('%d rows, %d quarantined, objective 99%%: %s (burn %d)', (rowsIn, bad, alert, rate) => {
    const [sli] = productSlis({ contracts: [contract({ quality: '99%' })], metrics: run(rowsIn, bad) });
    expect(sli).toMatchObject({ product: 'retail/orders', sli: 'quality', alert, objective: 0.99 });
    expect(sli.burnRate).toBeCloseTo(rate, 10);
  });

  test('the lines AWS would bring: would page, would open a ticket; none when the budget holds', () => {
    const page = productSlis({ contracts: [contract({ quality: '99%' })], metrics: run(100, 50) });
    expect(sloAlertLines(page)).toEqual([
      'would page: SLO retail/orders quality 50.0% of 100 row(s) (objective 99.0%): burn rate 50.00 (pages: the budget would be gone within hours)',
    ]);
    const ticket = productSlis({ contracts: [contract({ quality: '99%' })], metrics: run(100, 2) });
    expect(sloAlertLines(ticket)[0]).toMatch(/^would open a ticket: SLO retail\/orders quality 98\.0%/);
    expect(
      sloAlertLines(productSlis({ contracts: [contract({ quality: '90%' })], metrics: run(100, 2) })),
    ).toEqual([]);
  });

  test('no rows this run: nothing to judge; no SLA: no SLI', () => {
    expect(
      productSlis({ contracts: [contract({ quality: '99%' })], metrics: new LocalMetrics() }),
    ).toMatchObject([{ alert: 'none', line: 'retail/orders quality: no rows this run' }]);
    expect(productSlis({ contracts: [contract({})], metrics: run(10, 10) })).toEqual([]);
  });
});

describe('completeness', () => {
  /** Files stating `stated` rows in all, of which `missing` did not come. */
  const counted = (stated: number, missing: number) =>
    run(stated - missing, 0, undefined, { expected: stated, missing });

  test('the rows the files stated against those that came: 2% missing on a 99.9% objective pages', () => {
    const [sli] = productSlis({
      contracts: [contract({ completeness: '99.9%' })],
      metrics: counted(1000, 20),
    });
    expect(sli).toMatchObject({ sli: 'completeness', value: 0.98, objective: 0.999, alert: 'page' });
    expect(sli.burnRate).toBeCloseTo(20, 6);
    expect(sloAlertLines([sli])).toEqual([
      expect.stringMatching(
        /^would page: SLO retail\/orders completeness 98\.0% of the 1000 row\(s\) its files stated \(objective 99\.9%\): burn rate 20\.00/,
      ),
    ]);
  });

  test('all stated rows came: the budget holds; no file stated a count: nothing to judge', () => {
    expect(
      productSlis({ contracts: [contract({ completeness: '99.9%' })], metrics: counted(500, 0) }),
    ).toMatchObject([{ sli: 'completeness', value: 1, alert: 'none' }]);
    expect(
      productSlis({ contracts: [contract({ completeness: '99.9%' })], metrics: run(10, 0) }),
    ).toMatchObject([
      {
        alert: 'none',
        line: expect.stringMatching(
          /^retail\/orders completeness: no file stated a row count this run \(its trailing baseline is AWS anomaly detection/,
        ),
      },
    ]);
  });
});

describe('freshness', () => {
  test('a dataset whose data reached silver later than its objective would page', () => {
    const slis = productSlis({
      contracts: [contract({ freshness: '30 minutes' })],
      metrics: run(1, 0, 45 * 60),
    });
    expect(slis).toMatchObject([{ sli: 'freshness', value: 45, objective: 30, alert: 'page' }]);
    const fresh = productSlis({ contracts: [contract({ freshness: '30 minutes' })], metrics: run(1, 0, 60) });
    expect(fresh).toMatchObject([{ sli: 'freshness', value: 1, alert: 'none' }]);
  });

  test('a gold model: published by the run, published 3 hours ago, or never', () => {
    const model = {
      name: 'daily',
      sql: '',
      dependsOn: [],
      product: { version: '1.0.0', readers: [], sla: { freshness: 120, window: 43_200 } },
    } as GoldModel;
    const now = Date.UTC(2026, 11, 7, 12, 0, 0);
    const slis = (table: Record<string, unknown> | undefined) =>
      productSlis({
        contracts: [],
        models: [model],
        metrics: new LocalMetrics(),
        gold: { tables: table ? { daily: table as never } : {} },
        now,
      })[0];
    expect(slis({ publishedNow: true, location: 's3://g/daily/v=x/' })).toMatchObject({
      value: 0,
      alert: 'none',
    });
    expect(
      slis({ publishedNow: false, location: 's3://g/daily/v=local-20261207T090000000Z/' }),
    ).toMatchObject({
      value: 180,
      alert: 'page',
    });
    expect(slis(undefined)).toMatchObject({
      alert: 'page',
      line: expect.stringContaining('never published'),
    });
  });
});
