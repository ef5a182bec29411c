/**
 * The gold workflow offline, end to end: silver produced by the real pipeline from the samples, then the
 * synthesized gold state machine run by aws-local-stepfunctions with its UNLOADs on DuckDB.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createS3Client } from '../../../lambdas/aws/s3';
import { LocalS3Server, localS3Env } from '../../../local/cloud/s3-server';
import type { GoldRunReport } from '../../../local/gold/run-gold';
import { readGoldTables, runGoldLocally } from '../../../local/gold/run-gold';
import { type CfnTemplate, synthesizeTemplate } from '../../../local/gold/state-machine-definition';
import type { PipelineReport } from '../../../local/report/pipeline-report';
import { dailySalesOracle } from '../../support/gold-oracle';
import { workflowFunctions } from '../../support/workflow-functions';

const SAMPLES = resolve(__dirname, '..', '..', '..', 'samples');
const MODELS = ['customer_lifetime_value', 'daily_sales', 'category_sales'];
/** The models that rewrite their whole table each run (daily_sales is incremental: its days are partitions). */
const FULL_MODELS = ['customer_lifetime_value', 'category_sales'];
/** Rows in a canonical order (by their values, keys sorted): a partitioned table reads partition by partition. */
const sorted = (rows: Record<string, unknown>[] | undefined) => {
  const key = (r: Record<string, unknown>) =>
    JSON.stringify(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));
  return [...(rows ?? [])].sort((a, b) => (key(a) < key(b) ? -1 : 1));
};

describe('runGoldLocally on silver from the sample pipeline', () => {
  let state: string;
  let server: LocalS3Server;
  let endpoint: string;
  let buckets: Record<string, string>;
  let template: CfnTemplate;
  let synthMs: number;
  let first: GoldRunReport;
  let second: GoldRunReport;
  let firstRows: Record<string, Record<string, unknown>[]>;
  let secondRows: Record<string, Record<string, unknown>[]>;
  let invokeFunction: (logicalId: string, payload: unknown) => Promise<unknown>;

  const tables = () =>
    readGoldTables({ s3Endpoint: endpoint, stateDir: state, database: 'medallion_dev', tables: MODELS });
  const object = async (bucket: string, key: string) => {
    const s3 = createS3Client(localS3Env(endpoint));
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
    } finally {
      s3.destroy();
    }
  };
  const keys = async (bucket: string, prefix: string) => {
    const s3 = createS3Client(localS3Env(endpoint));
    try {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (out.Contents ?? []).map((o) => o.Key as string).sort();
    } finally {
      s3.destroy();
    }
  };

  beforeAll(async () => {
    state = mkdtempSync(join(tmpdir(), 'medallion-gold-'));
    // Silver from the real pipeline (it starts and stops its own local cloud over <state>/s3).
    jest.resetModules();
    const { runPipeline } =
      require('../../../local/commands/pipeline') as typeof import('../../../local/commands/pipeline');
    const pipeline: PipelineReport = await runPipeline({
      modelsDir: false,
      contractsDir: join(SAMPLES, 'contracts'),
      dataDir: join(SAMPLES, 'data'),
      stateDir: state,
      port: 0,
      apiPort: 0,
      out: () => {},
    });
    expect(pipeline.ok).toBe(true);
    buckets = { ...pipeline.buckets } as Record<string, string>;
    server = new LocalS3Server();
    ({ endpoint } = await server.start({ directory: join(state, 's3'), buckets: Object.values(buckets) }));

    ({ template, ms: synthMs } = synthesizeTemplate());
    invokeFunction = workflowFunctions({
      s3Endpoint: endpoint,
      silverBucket: buckets.silver,
      goldBucket: buckets.gold,
      contractsDir: join(SAMPLES, 'contracts'),
    });
    first = await runGoldLocally({
      s3Endpoint: endpoint,
      stateDir: state,
      buckets,
      template,
      executionName: 'run-1',
      invokeFunction,
    });
    firstRows = await tables();
    second = await runGoldLocally({
      s3Endpoint: endpoint,
      stateDir: state,
      buckets,
      template,
      executionName: 'run-2',
      invokeFunction,
    });
    secondRows = await tables();
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    if (state) rmSync(state, { recursive: true, force: true });
  });

  it('runs the synthesized workflow to the end: every model written, published, the metric sent', () => {
    expect(first.error).toBeUndefined();
    // Each model says how much it read: category_sales reads daily_sales only, smaller than silver.
    for (const m of Object.values(first.models)) expect(m.bytesRead).toBeGreaterThan(0);
    expect(first.models.category_sales.bytesRead).toBeLessThan(first.models.daily_sales.bytesRead as number);
    expect(first.status).toBe('SUCCEEDED');
    expect(first.alarms).toEqual([]);
    expect(Object.keys(first.models).sort()).toEqual([...MODELS].sort());
    for (const name of FULL_MODELS) {
      const m = first.models[name];
      expect(m.location).toBe(`s3://${buckets.gold}/${name}/v=run-1/`);
      expect(m.files).toEqual([`s3://${buckets.gold}/${name}/v=run-1/part-0.parquet`]);
      expect(m.published).toBe(true);
      expect(m.rows).toBeGreaterThan(0);
    }
    // daily_sales, incremental: its first run writes every day, one partition each, and publishes them.
    const daily = first.models.daily_sales;
    expect(daily.plan).toEqual({ mode: 'full', reason: 'first run', dates: [] });
    expect(daily.files).toEqual(
      ['2026-11-01', '2026-11-02', '2026-11-03'].map(
        (d) => `s3://${buckets.gold}/daily_sales/v=run-1/0/sales_date=${d}/part-0.parquet`,
      ),
    );
    expect(daily.published).toBe(true);
    expect(daily.rows).toBe(26);
    // One ModelPublished per model as it is published (its freshness SLO), then GoldPublished once.
    const published = (model: string) => ({
      Namespace: 'Medallion',
      MetricData: [
        {
          MetricName: 'ModelPublished',
          Dimensions: [{ Name: 'Model', Value: model }],
          Value: 1,
          Unit: 'Count',
        },
      ],
    });
    expect(first.metrics.at(-1)).toEqual({
      Namespace: 'Medallion',
      MetricData: [{ MetricName: 'GoldPublished', Value: 1, Unit: 'Count' }],
    });
    expect(first.metrics.slice(0, -1)).toEqual(
      expect.arrayContaining(['customer_lifetime_value', 'daily_sales', 'category_sales'].map(published)),
    );
    expect(first.metrics).toHaveLength(4);
    console.log(
      `gold: synth ${synthMs} ms, run 1 ${first.timingsMs.run} ms, run 2 ${second.timingsMs.run} ms`,
    );
  });

  it('says how long each state took: a time for every state it entered (summed over branches), the slowest above zero', () => {
    const entered = new Set(first.history.filter((e) => e.type === 'StateEntered').map((e) => e.state));
    expect(new Set(Object.keys(first.stateMs))).toEqual(entered);
    for (const ms of Object.values(first.stateMs)) expect(ms).toBeGreaterThanOrEqual(0);
    const slowest = Object.entries(first.stateMs).sort(([, a], [, b]) => b - a)[0][0];
    expect(first.stateMs[slowest]).toBeGreaterThan(0);
  });

  it('computes daily_sales exactly like an oracle built from the sample CSV files', async () => {
    expect(sorted(firstRows.daily_sales)).toEqual(sorted(await dailySalesOracle(SAMPLES)));
    // A few rows worked out by hand from the samples.
    expect(firstRows.daily_sales).toContainEqual({
      sales_date: '2026-11-01',
      store_id: 'S1',
      category: 'electronics',
      orders: '3',
      revenue: '191.46',
      average_order_value: '63.82',
      unique_customers: '3',
    });
  });

  it('switches each full model to the new version and keeps the history; the unchanged incremental model writes nothing', () => {
    expect(second.models.daily_sales).toMatchObject({
      plan: { mode: 'unchanged' },
      files: [],
      published: true,
    });
    for (const name of FULL_MODELS) {
      expect(second.published[name]).toBe(`s3://${buckets.gold}/${name}/v=run-2/`);
      expect(second.versions[name].map((v) => v.location)).toEqual([
        `s3://${buckets.gold}/${name}/_unpublished/`,
        `s3://${buckets.gold}/${name}/v=run-1/`,
        `s3://${buckets.gold}/${name}/v=run-2/`,
      ]);
    }
  });

  it('gives identical rows, and identical Parquet bytes, on a second run', async () => {
    expect(sorted(secondRows.daily_sales)).toEqual(sorted(firstRows.daily_sales));
    expect(secondRows.category_sales).toEqual(firstRows.category_sales);
    expect(secondRows.customer_lifetime_value).toEqual(firstRows.customer_lifetime_value);
    for (const name of FULL_MODELS) {
      const a = await object(buckets.gold, `${name}/v=run-1/part-0.parquet`);
      const b = await object(buckets.gold, `${name}/v=run-2/part-0.parquet`);
      expect(b.equals(a)).toBe(true);
    }
    // UNLOAD manifests land in the workgroup's result location, as Athena writes them.
    expect(
      (await keys(buckets['athena-results'], 'medallion-dev/')).filter((k) => k.endsWith('-manifest.csv')),
    ).toHaveLength(5);
  });

  it('a failing model: the execution fails, an alarm is sent, its previous version stays published', async () => {
    const models = mkdtempSync(join(tmpdir(), 'medallion-gold-models-'));
    try {
      for (const f of readdirSync(join(SAMPLES, 'models')))
        copyFileSync(join(SAMPLES, 'models', f), join(models, f));
      // Same header (so the same table: a changed definition would reset its location, as CloudFormation
      // does), a column that does not exist in the SQL.
      const original = readFileSync(join(SAMPLES, 'models', 'category_sales.sql'), 'utf8');
      expect(original).toContain('SUM(orders)');
      writeFileSync(
        join(models, 'category_sales.sql'),
        original.replace('SUM(orders)', 'SUM(no_such_column)'),
      );
      const broken = await runGoldLocally({
        s3Endpoint: endpoint,
        stateDir: state,
        buckets,
        config: { gold: { modelsDir: models } },
        executionName: 'run-3',
        invokeFunction,
      });
      expect(broken.status).toBe('FAILED');
      expect(broken.error?.error).toBe('GoldModelFailed');
      expect(broken.alarms).toHaveLength(1);
      const alarm = broken.alarms[0];
      expect(alarm.subject).toBe('medallion gold: model category_sales failed');
      expect(alarm.topicArn).toMatch(/^arn:aws:sns:us-east-1:000000000000:/);
      const message = alarm.message as Record<string, string>;
      expect(message.model).toBe('category_sales');
      expect(message.error).toBe('States.TaskFailed');
      expect(message.cause).toContain('no_such_column');
      // No GoldPublished (not every model was); the models that were published say so for their SLOs.
      expect(
        broken.metrics.flatMap((m) => m.MetricData as { MetricName: string }[]).map((d) => d.MetricName),
      ).not.toContain('GoldPublished');
      const sent = broken.metrics.flatMap((m) => m.MetricData as { Dimensions?: { Value: string }[] }[]);
      expect(sent.map((d) => d.Dimensions?.[0]?.Value)).not.toContain('category_sales');
      // Wave 1 ran (daily_sales had nothing new); the failed model still points at run 2, nothing was written.
      expect(broken.models.daily_sales).toMatchObject({ plan: { mode: 'unchanged' }, published: true });
      expect(broken.published.category_sales).toBe(`s3://${buckets.gold}/category_sales/v=run-2/`);
      expect(broken.models.category_sales.published).toBe(false);
      expect(await keys(buckets.gold, 'category_sales/v=run-3/')).toEqual([]);
      expect((await tables()).category_sales).toEqual(secondRows.category_sales);
    } finally {
      rmSync(models, { recursive: true, force: true });
    }
  });

  it('never runs twice at once: a run started while another is running is skipped, counted, and changes nothing', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((r) => {
      release = r;
    });
    let entered!: () => void;
    const inProgress = new Promise<void>((r) => {
      entered = r;
    });
    // Run A stops in its first Lambda call until run B is over.
    const a = runGoldLocally({
      s3Endpoint: endpoint,
      stateDir: state,
      buckets,
      template,
      executionName: 'run-a',
      invokeFunction: async (id, payload) => {
        entered();
        await blocked;
        return invokeFunction(id, payload);
      },
    });
    await inProgress;
    const publishedBefore = { ...(await tables()) };
    const b = await runGoldLocally({
      s3Endpoint: endpoint,
      stateDir: state,
      buckets,
      template,
      executionName: 'run-b',
      invokeFunction,
    });
    release();
    const done = await a;

    expect(b.status).toBe('SUCCEEDED');
    expect(b.skipped).toEqual({ running: ['run-a'] });
    expect(Object.values(b.models).map((m) => m.attempts)).toEqual([0, 0, 0]);
    expect(b.metrics).toEqual([
      { Namespace: 'Medallion', MetricData: [{ MetricName: 'GoldRunSkipped', Value: 1, Unit: 'Count' }] },
    ]);
    expect(await keys(buckets.gold, 'daily_sales/v=run-b/')).toEqual([]);
    expect(publishedBefore.daily_sales).toBeDefined();

    expect(done.status).toBe('SUCCEEDED');
    expect(done.skipped).toBeUndefined();
    expect(done.published.customer_lifetime_value).toBe(
      `s3://${buckets.gold}/customer_lifetime_value/v=run-a/`,
    );
    expect(done.models.daily_sales.published).toBe(true);
    // Once A is over, a run goes ahead again.
    const c = await runGoldLocally({
      s3Endpoint: endpoint,
      stateDir: state,
      buckets,
      template,
      executionName: 'run-c',
      invokeFunction,
    });
    expect(c.skipped).toBeUndefined();
    expect(c.status).toBe('SUCCEEDED');

    // Bounded storage: each full model keeps its 3 newest published versions; run-1 (older) and run-3 (it
    // failed) are gone, and so is nothing that run-b (skipped) never wrote. daily_sales keeps run-1: its
    // partitions still read it (no later run had anything new for it).
    const versionsOf = async (model: string) =>
      [...new Set((await keys(buckets.gold, `${model}/`)).map((k) => k.split('/')[1]))].sort();
    for (const model of FULL_MODELS) {
      expect([model, await versionsOf(model)]).toEqual([
        model,
        ['_published.json', 'v=run-2', 'v=run-a', 'v=run-c'],
      ]);
    }
    expect(await versionsOf('daily_sales')).toEqual(['_incremental.json', '_published.json', 'v=run-1']);
  }, 60_000);
});
