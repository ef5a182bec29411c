/**
 * Evidence, gold layer: the synthesized gold workflow (aws-local-stepfunctions, Athena played by DuckDB)
 * over silver written by the real landing and transform handlers on the real local S3 server.
 *
 * The scenarios share one lake and run in order: 10 publishes the samples twice, 9 breaks a model on top
 * of that, 21 lands duplicates, 22 lands late records.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Manifest } from '../../core/lake/manifest';
import { allStates, type GoldRunReport } from '../../local/gold/run-gold';
import {
  type CfnTemplate,
  goldDefinition,
  goldStateMachineId,
  synthesizeTemplate,
  TemplateResolver,
} from '../../local/gold/state-machine-definition';
import { recordEvidence, recordManifest } from '../support/evidence/evidence';
import {
  fullSampleModels,
  type Rows,
  SAMPLE_MODELS,
  SAMPLES,
  withGoldLake,
} from '../support/evidence/gold-lake';
import { dailySalesOracle } from '../support/gold-oracle';

const lake = withGoldLake();

const ORDERS_HEADER =
  'order_id,order_ts,updated_at,customer_id,store_id,product_id,quantity,unit_price,currency,status';
const csv = (...rows: string[]) => `${[ORDERS_HEADER, ...rows].join('\n')}\n`;

/** Every manifest a scenario produces is a conservation record, and must conserve its rows. */
function conserved(scenario: number, manifest: Manifest): Manifest {
  recordManifest(scenario, manifest);
  const { rows } = manifest;
  expect(rows.in).toBe(rows.out + rows.quarantined + rows.duplicates);
  return manifest;
}

const sha = (b: Buffer | undefined) => b && createHash('sha256').update(b).digest('hex');

/** Rows of `before` and `after` that differ (by their JSON), as [removed, added]. */
function diff(before: Rows, after: Rows): [Rows, Rows] {
  const key = (r: Record<string, unknown>) => JSON.stringify(r);
  const a = new Set(after.map(key));
  const b = new Set(before.map(key));
  return [before.filter((r) => !a.has(key(r))), after.filter((r) => !b.has(key(r)))];
}

// What scenario 10 published last (run-2): the later scenarios compare with it.
let published: Record<string, Rows>;

describe('scenario 10: gold re-run on unchanged silver gives identical rows (and identical Parquet bytes), published as a new version', () => {
  let run1: GoldRunReport;
  let run2: GoldRunReport;
  let rows1: Record<string, Rows>;

  beforeAll(async () => {
    for (const file of [
      'orders/orders-2026-11-01.csv',
      'orders/orders-2026-11-03.csv.gz',
      'customers/customers.ndjson',
      'products/products.csv',
    ]) {
      const manifest = await lake.land(`retail/${file}`, readFileSync(join(SAMPLES, 'data', file)));
      conserved(10, manifest);
      expect(manifest.status).toBe('ok');
    }
    run1 = await lake.runGold('run-1');
    rows1 = await lake.goldTables();
    run2 = await lake.runGold('run-2');
    published = await lake.goldTables();
  }, 60_000);

  it('both runs succeed and publish every model at their own version', () => {
    for (const run of [run1, run2]) {
      expect(run.error).toBeUndefined();
      expect(run.status).toBe('SUCCEEDED');
      for (const name of SAMPLE_MODELS) {
        expect(run.published[name]).toBe(`s3://${lake.cloud.buckets.gold}/${name}/v=${run.executionName}/`);
        // One attempt each: a retry here would hide a failure (it once hid a race in the local engine).
        expect(run.models[name].attempts).toBe(1);
      }
    }
    // The README's counts of the sample gold tables.
    expect(Object.values(rows1).map((r) => r.length)).toEqual([5, 10, 26]);
  });

  it('the re-run has exactly the same rows (sorted), which match the independent oracle', async () => {
    expect(published).toEqual(rows1);
    expect(published.daily_sales).toEqual(await dailySalesOracle(SAMPLES));
  });

  it('the re-run wrote byte-identical Parquet', async () => {
    const identical: string[] = [];
    for (const name of SAMPLE_MODELS) {
      const [a] = run1.models[name].files;
      const [b] = run2.models[name].files;
      const bucket = lake.cloud.buckets.gold;
      const bytesA = await lake.object(bucket, a.replace(`s3://${bucket}/`, ''));
      const bytesB = await lake.object(bucket, b.replace(`s3://${bucket}/`, ''));
      expect(bytesA?.length).toBeGreaterThan(0);
      if (bytesA && bytesB && bytesA.equals(bytesB)) identical.push(name);
    }
    recordEvidence({
      kind: 'note',
      scenario: 10,
      name: 'gold tables byte-identical on a re-run',
      value: `${identical.length}/${SAMPLE_MODELS.length}`,
    });
    recordEvidence({
      kind: 'note',
      scenario: 10,
      name: 'gold run time',
      value: run2.timingsMs.run,
      unit: 'ms',
    });
    // Same input, one DuckDB thread, no timestamps in the file: the bytes are the same too.
    expect(identical).toEqual(SAMPLE_MODELS);
  });
});

describe('scenario 9: a failing gold query is retried with backoff, then its model alarms, the models that do not read it publish, and the workflow fails; the previous gold stays published and readable', () => {
  let broken: CfnTemplate;
  let run: GoldRunReport;
  let before: Record<string, Buffer | undefined>;

  beforeAll(async () => {
    // daily_sales with a condition that fails at run time, on the data (Trino and DuckDB both refuse to
    // cast 'C001' to an integer), same header so the same table.
    const models = mkdtempSync(join(tmpdir(), 'medallion-evidence-models-'));
    try {
      const full = fullSampleModels(models);
      for (const f of readdirSync(full)) copyFileSync(join(full, f), join(models, f));
      const original = readFileSync(join(full, 'daily_sales.sql'), 'utf8');
      const needle = "WHERE o.status IS NULL OR o.status <> 'cancelled'";
      expect(original).toContain(needle);
      writeFileSync(
        join(models, 'daily_sales.sql'),
        original.replace(
          needle,
          `WHERE (o.status IS NULL OR o.status <> 'cancelled')\n    AND CAST(o.customer_id AS integer) > 0`,
        ),
      );
      broken = synthesizeTemplate({ config: { gold: { modelsDir: models } } }).template;
    } finally {
      rmSync(models, { recursive: true, force: true });
    }
    const bucket = lake.cloud.buckets.gold;
    before = {};
    for (const name of SAMPLE_MODELS) {
      before[name] = await lake.object(bucket, `${name}/v=run-2/part-0.parquet`);
    }
    run = await lake.runGold('run-3', broken);
  }, 60_000);

  it('the write is attempted MaxAttempts+1 times, with the backoff the definition declares', () => {
    const definition = goldDefinition(new TemplateResolver(broken));
    const [, write] = allStates(definition).find(([name]) => name === 'daily_sales: write') ?? [];
    const onFailedQuery = ((write?.Retry ?? []) as Record<string, unknown>[]).find((r) =>
      (r.ErrorEquals as string[]).includes('States.TaskFailed'),
    );
    // Declared: 30 s, then 60 s (the local run overrides the intervals to 0, not the attempts).
    expect(onFailedQuery).toEqual({
      ErrorEquals: ['States.TaskFailed'],
      IntervalSeconds: 30,
      MaxAttempts: 2,
      BackoffRate: 2,
    });
    const attempts = (onFailedQuery?.MaxAttempts as number) + 1;
    expect(run.models.daily_sales.attempts).toBe(attempts);
    const retried = run.history.filter((e) => e.type === 'StateRetried' && e.state === 'daily_sales: write');
    expect(retried).toHaveLength(attempts - 1);
    recordEvidence({
      kind: 'note',
      scenario: 9,
      name: 'attempts of the failing gold query',
      value: attempts,
    });
  });

  it('the failed model alarms, the model beside it publishes, the one reading it is skipped, then the execution fails; no GoldPublished', () => {
    expect(run.status).toBe('FAILED');
    expect(run.error?.error).toBe('GoldModelFailed');
    const path = run.history
      .filter(
        (e) =>
          e.state?.startsWith('daily_sales:') ||
          e.state?.startsWith('category_sales:') ||
          e.state?.startsWith('gold:') ||
          e.state?.startsWith('wave ') ||
          !e.state,
      )
      .map((e) => [e.type, e.state, e.error].filter(Boolean).join(' '));
    expect(path).toEqual([
      'StateEntered wave 1',
      'StateEntered daily_sales: version',
      'StateEntered daily_sales: write',
      'StateFailed daily_sales: write States.TaskFailed',
      'StateRetried daily_sales: write',
      'StateFailed daily_sales: write States.TaskFailed',
      'StateRetried daily_sales: write',
      'StateFailed daily_sales: write States.TaskFailed',
      'StateCaught daily_sales: write',
      'StateEntered daily_sales: alarm',
      // The branch ends with the model's outcome instead of failing its wave (which would stop the wave's
      // other models midway): customer_lifetime_value, beside it, publishes.
      'StateEntered daily_sales: failed',
      'StateEntered wave 2',
      // category_sales reads daily_sales, which did not publish: skipped, not built on the stale version.
      'StateEntered category_sales: upstream',
      'StateEntered category_sales: upstream published?',
      'StateEntered category_sales: skipped',
      // Once every model that could run ran, the verdict fails the execution.
      'StateEntered gold: outcomes',
      'StateEntered gold: all published?',
      'StateEntered gold: models failed',
      'StateFailed gold: models failed GoldModelFailed',
      'ExecutionFailed GoldModelFailed',
    ]);
    expect(run.alarms).toHaveLength(1);
    const [alarm] = run.alarms;
    expect(alarm.subject).toBe('medallion gold: model daily_sales failed');
    const message = alarm.message as Record<string, string>;
    expect(message).toMatchObject({ model: 'daily_sales', error: 'States.TaskFailed' });
    expect(message.cause).toMatch(/Could not convert string 'C\d+' to INT32/);
    // category_sales was skipped; nothing says gold is fresh.
    expect(run.models.category_sales.attempts).toBe(0);
    // No GoldPublished: the freshness alarm is not fed. The model that published (wave 1's other branch)
    // says so, for its own freshness SLO.
    const sent = run.metrics.flatMap(
      (m) => m.MetricData as { MetricName: string; Dimensions?: { Value: string }[] }[],
    );
    expect(sent.map((d) => d.MetricName)).not.toContain('GoldPublished');
    expect(sent.map((d) => d.Dimensions?.[0]?.Value)).toEqual(['customer_lifetime_value']);
    expect(run.models.customer_lifetime_value.published).toBe(true);
    recordEvidence({
      kind: 'note',
      scenario: 9,
      name: 'alarms sent by the failed run',
      value: run.alarms.length,
    });
  });

  it('the stack alarms on that failure: an alarm on the workflow ExecutionsFailed, to the topic the workflow publishes to', () => {
    const resolver = new TemplateResolver(broken);
    const machine = goldStateMachineId(broken);
    const alarms = Object.values(broken.Resources).filter((r) => {
      if (r.Type !== 'AWS::CloudWatch::Alarm') return false;
      const metrics = (r.Properties?.Metrics ?? []) as { MetricStat?: { Metric: Record<string, unknown> } }[];
      return metrics.some(
        (m) =>
          m.MetricStat?.Metric.Namespace === 'AWS/States' &&
          m.MetricStat.Metric.MetricName === 'ExecutionsFailed' &&
          JSON.stringify(m.MetricStat.Metric.Dimensions) ===
            JSON.stringify([{ Name: 'StateMachineArn', Value: { Ref: machine } }]),
      );
    });
    expect(alarms).toHaveLength(1);
    const props = alarms[0].Properties as Record<string, unknown>;
    expect(props).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 0 });
    const actions = resolver.resolve(props.AlarmActions) as string[];
    expect(actions).toEqual([run.alarms[0].topicArn]);
  });

  it('the previously published version stays in the catalog, its files untouched, and returns the old rows', async () => {
    const bucket = lake.cloud.buckets.gold;
    for (const name of ['daily_sales', 'category_sales']) {
      expect(run.published[name]).toBe(`s3://${bucket}/${name}/v=run-2/`);
      expect(run.models[name].published).toBe(false);
      expect(await lake.keys(bucket, `${name}/v=run-3/`)).toEqual([]);
    }
    // customer_lifetime_value ran beside daily_sales in wave 1: published or not, it is complete.
    for (const name of SAMPLE_MODELS) {
      expect(sha(await lake.object(bucket, `${name}/v=run-2/part-0.parquet`))).toBe(sha(before[name]));
    }
    expect(await lake.goldTables()).toEqual(published);
  });
});

describe('scenario 21: duplicate primary keys within and across files give one row per key in gold, the latest version winning', () => {
  // Store S9 and customers C90x exist only here, so their gold rows come from these two files alone.
  // P001 is an electronics product. Paris 10:00-14:00 is the same UTC day.
  const fileA = csv(
    'O-9001,2026-11-04 10:00:00,2026-11-04T09:00:00Z,C901,S9,P001,1,10.00,EUR,placed', // loses within A
    'O-9001,2026-11-04 10:00:00,2026-11-04T09:30:00Z,C901,S9,P001,2,10.00,EUR,shipped', // wins: 20.00
    'O-9002,2026-11-04 11:00:00,2026-11-04T10:00:00Z,C902,S9,P001,1,30.00,EUR,placed', // B is newer
    'O-9003,2026-11-04 12:00:00,2026-11-04T12:00:00Z,C901,S9,P001,4,10.00,EUR,delivered', // wins: 40.00
    'O-9004,2026-11-04 13:00:00,2026-11-04T13:00:00Z,C902,S9,P001,1,50.00,EUR,placed', // B ties, later
    'O-9005,2026-11-04 14:00:00,2026-11-04T14:00:00Z,C903,S9,P001,1,7.00,EUR,placed', // cancelled in B
  );
  const fileB = csv(
    // Newer, with its order day corrected to 5 Nov: counted on the 5th only.
    'O-9002,2026-11-05 09:00:00,2026-11-05T08:00:00Z,C902,S9,P001,3,30.00,EUR,shipped',
    // An older version re-sent late: must not win although it arrived last.
    'O-9003,2026-11-04 12:00:00,2026-11-04T11:00:00Z,C901,S9,P001,9,10.00,EUR,placed',
    // Same updated_at as in A: the later delivery wins (ties: the later record).
    'O-9004,2026-11-04 13:00:00,2026-11-04T13:00:00Z,C902,S9,P001,2,50.00,EUR,shipped',
    'O-9005,2026-11-05 08:00:00,2026-11-05T07:00:00Z,C903,S9,P001,1,7.00,EUR,cancelled',
    'O-9006,2026-11-05 10:00:00,2026-11-05T09:00:00Z,C903,S9,P001,1,5.00,EUR,placed', // exact copies
    'O-9006,2026-11-05 10:00:00,2026-11-05T09:00:00Z,C903,S9,P001,1,5.00,EUR,placed',
  );
  let manifests: Manifest[];
  let run: GoldRunReport;
  let after: Record<string, Rows>;

  beforeAll(async () => {
    manifests = [
      conserved(21, await lake.land('retail/orders/dup-a.csv', fileA)),
      conserved(21, await lake.land('retail/orders/dup-b.csv', fileB)),
    ];
    run = await lake.runGold('run-21');
    after = await lake.goldTables();
  }, 60_000);

  it('silver: duplicates within a file are removed by the transform, versions across files are kept in history, current state has one per key', async () => {
    expect(manifests.map((m) => m.rows)).toEqual([
      { in: 6, out: 5, quarantined: 0, duplicates: 1 },
      { in: 6, out: 5, quarantined: 0, duplicates: 1 },
    ]);
    const silver = await lake.query(
      "SELECT order_id, count(*) AS versions FROM orders_history WHERE order_id LIKE 'O-90%' GROUP BY order_id ORDER BY order_id",
    );
    expect(silver).toEqual(
      [
        ['O-9001', 1],
        ['O-9002', 2],
        ['O-9003', 2],
        ['O-9004', 2],
        ['O-9005', 2],
        ['O-9006', 1],
      ].map(([order_id, versions]) => ({ order_id, versions: String(versions) })),
    );
    expect(
      await lake.query(
        "SELECT count(*) AS n, count(DISTINCT order_id) AS k FROM orders WHERE order_id LIKE 'O-90%'",
      ),
    ).toEqual([{ n: '6', k: '6' }]);
  });

  it('gold: each order counted once, with the values of its latest version', () => {
    expect(run.status).toBe('SUCCEEDED');
    expect(Object.values(run.models).map((m) => m.attempts)).toEqual([1, 1, 1]);
    expect(after.daily_sales.filter((r) => r.store_id === 'S9')).toEqual([
      // O-9001 20.00 + O-9003 40.00 + O-9004 100.00
      {
        sales_date: '2026-11-04',
        store_id: 'S9',
        category: 'electronics',
        orders: '3',
        revenue: '160.00',
        average_order_value: '53.33',
        unique_customers: '2',
      },
      // O-9002 90.00 + O-9006 5.00 (O-9005 is cancelled in its latest version)
      {
        sales_date: '2026-11-05',
        store_id: 'S9',
        category: 'electronics',
        orders: '2',
        revenue: '95.00',
        average_order_value: '47.50',
        unique_customers: '2',
      },
    ]);
    expect(after.customer_lifetime_value.filter((r) => String(r.customer_id).startsWith('C90'))).toEqual([
      {
        customer_id: 'C901',
        first_order_date: '2026-11-04',
        last_order_date: '2026-11-04',
        orders: '2',
        lifetime_revenue: '60.00',
      },
      {
        customer_id: 'C902',
        first_order_date: '2026-11-04',
        last_order_date: '2026-11-05',
        orders: '2',
        lifetime_revenue: '190.00',
      },
      {
        customer_id: 'C903',
        first_order_date: '2026-11-05',
        last_order_date: '2026-11-05',
        orders: '1',
        lifetime_revenue: '5.00',
      },
    ]);
    // Nothing else moved: the other stores' and customers' rows are the ones published before.
    expect(after.daily_sales.filter((r) => r.store_id !== 'S9')).toEqual(published.daily_sales);
    expect(after.customer_lifetime_value.filter((r) => !String(r.customer_id).startsWith('C90'))).toEqual(
      published.customer_lifetime_value,
    );
    const delivered = manifests.reduce((n, m) => n + m.rows.in, 0);
    const keys = 6;
    const liveKeys = 5; // O-9005 is cancelled
    const counted = after.daily_sales
      .filter((r) => r.store_id === 'S9')
      .reduce((n, r) => n + Number(r.orders), 0);
    expect(counted).toBe(liveKeys);
    recordEvidence({
      kind: 'duplicates',
      scenario: 21,
      delivered,
      duplicateDeliveries: delivered - keys,
      duplicateRows: counted - liveKeys,
    });
  });
});

describe('scenario 22: late records for an old date land in the silver partition of that date; the gold rows of that date are recomputed, the other dates stay identical', () => {
  // 1 Nov already has S1/electronics: 3 orders, 191.46. O-9102 is 2 Nov 00:30 in Paris, still 1 Nov in
  // UTC: silver partitions and gold days are UTC, so both go to 1 Nov.
  const late = csv(
    'O-9101,2026-11-01 10:30:00,2026-11-21T10:00:00Z,C950,S1,P001,1,28.54,EUR,placed',
    'O-9102,2026-11-02 00:30:00,2026-11-21T10:05:00Z,C951,S1,P001,2,15.00,EUR,placed',
  );
  const partition = 'retail/orders/dt=2026-11-01/';
  let partitionBefore: string[];
  let manifest: Manifest;
  let baseline: Record<string, Rows>;
  let run: GoldRunReport;
  let after: Record<string, Rows>;

  beforeAll(async () => {
    baseline = await lake.goldTables();
    partitionBefore = await lake.keys(lake.cloud.buckets.silver, partition);
    manifest = conserved(22, await lake.land('retail/orders/late-2026-11-21.csv', late));
    run = await lake.runGold('run-22');
    after = await lake.goldTables();
  }, 60_000);

  it('the late rows land in the partition of their (UTC) order day, beside the files already there', async () => {
    expect(manifest.rows).toEqual({ in: 2, out: 2, quarantined: 0, duplicates: 0 });
    expect(manifest.outputs.map((o) => [o.partition, o.rows])).toEqual([['2026-11-01', 2]]);
    const [output] = manifest.outputs;
    expect(output.key.startsWith(partition)).toBe(true);
    expect(await lake.keys(lake.cloud.buckets.silver, partition)).toEqual(
      [...partitionBefore, output.key].sort(),
    );
    expect(partitionBefore.length).toBeGreaterThan(0);
  });

  it('gold: the 1 Nov row is recomputed with the late orders, every other row is unchanged', () => {
    expect(run.status).toBe('SUCCEEDED');
    expect(Object.values(run.models).map((m) => m.attempts)).toEqual([1, 1, 1]);
    const [removed, added] = diff(baseline.daily_sales, after.daily_sales);
    expect(removed).toEqual([
      {
        sales_date: '2026-11-01',
        store_id: 'S1',
        category: 'electronics',
        orders: '3',
        revenue: '191.46',
        average_order_value: '63.82',
        unique_customers: '3',
      },
    ]);
    expect(added).toEqual([
      {
        sales_date: '2026-11-01',
        store_id: 'S1',
        category: 'electronics',
        orders: '5',
        revenue: '250.00', // 191.46 + 28.54 + 2 x 15.00
        average_order_value: '50.00',
        unique_customers: '5',
      },
    ]);
    const others = (rows: Rows) => rows.filter((r) => r.sales_date !== '2026-11-01');
    expect(others(after.daily_sales)).toEqual(others(baseline.daily_sales));
    const [, newCustomers] = diff(baseline.customer_lifetime_value, after.customer_lifetime_value);
    expect(newCustomers.map((r) => [r.customer_id, r.first_order_date, r.lifetime_revenue])).toEqual([
      ['C950', '2026-11-01', '28.54'],
      ['C951', '2026-11-01', '30.00'],
    ]);
    recordEvidence({
      kind: 'note',
      scenario: 22,
      name: 'daily_sales rows changed by the late file',
      value: `${removed.length} of ${after.daily_sales.length}`,
    });
  });
});
