/**
 * DataProductSlos over two domains: which SLOs the contracts and models declare, whose topics their alerts
 * reach (each domain its own, the platform's own on the platform topic), the budget widgets, and cdk-nag.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
import type { GoldModel } from '../../../core/gold/models';
import { createAlarmTopic } from '../../../lib/monitoring/alarm-topic';
import { DataProductSlos, type DataProductSlosProps } from '../../../lib/monitoring/data-product-slos';
import { DomainTopics, domainRecipients } from '../../../lib/monitoring/domain-topics';
import { testContext } from '../../support/cdk';
import { itemsContract } from '../../support/items-contract';

const orders = itemsContract(
  [],
  {
    owner: { team: 'retail-data', contact: 'retail-data@example.com' },
    sla: { quality: '99%', freshness: '1 hour' },
  },
  { domain: 'retail', dataset: 'orders' },
);
const ledger = itemsContract(
  [],
  { owner: 'finance@example.com', sla: { quality: '99.9%', window: '7 days' } },
  { domain: 'finance', dataset: 'ledger' },
);
// Completeness needs an expected row count the pipeline does not record yet: no SLO.
const visits = itemsContract([], { sla: { completeness: '99%' } }, { domain: 'retail', dataset: 'visits' });
const model = (
  name: string,
  domain: string | undefined,
  freshness: number,
): Pick<GoldModel, 'name' | 'product'> => ({
  name,
  product: {
    domain,
    owner: { contact: `${name}@example.com` },
    version: '1.0.0',
    sla: { freshness, window: 30 * 1440 },
    readers: [],
  },
});
const models = [model('daily_sales', 'retail', 120), model('platform_kpis', undefined, 1440)];
const contracts = [orders, ledger, visits];

const tmp = mkdtempSync(join(tmpdir(), 'medallion-slos-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function build(over: Partial<DataProductSlosProps> = {}, outdir?: string) {
  const app = new App({ context: testContext(), ...(outdir ? { outdir } : {}) });
  const stack = new Stack(app, 'Nag', { env: { account: '111111111111', region: 'eu-west-1' } });
  const platform = createAlarmTopic(new Construct(stack, 'Platform'), { namePrefix: 'Medallion-dev' });
  const topics = new DomainTopics(stack, 'SloTopics', {
    namePrefix: 'Medallion-dev',
    domains: domainRecipients(contracts, models),
  });
  const slos = new DataProductSlos(stack, 'Slos', {
    alarmNamePrefix: 'Medallion-dev',
    contracts,
    models,
    topics,
    platformTopic: platform.topic,
    platformGold: { freshnessMinutes: 60 },
    ...over,
  });
  new cloudwatch.Dashboard(stack, 'Dashboard', { widgets: [[...slos.widgets]] });
  const ref = (topic: { topicArn: string }) => stack.resolve(topic.topicArn).Ref as string;
  return { app, stack, slos, topics, platform, ref, t: Template.fromStack(stack) };
}

describe('DataProductSlos', () => {
  const { slos, topics, platform, ref, t } = build();

  test('quality, completeness and freshness per dataset as declared, freshness per model and for the gold layer', () => {
    expect(slos.slos.map((s) => [s.product, s.sli, s.objective, s.windowMinutes, s.domain])).toEqual([
      ['orders', 'quality', 0.99, 43_200, 'retail'],
      ['orders', 'freshness', 0.99, 43_200, 'retail'],
      ['ledger', 'quality', 0.999, 10_080, 'finance'],
      ['visits', 'completeness', 0.99, 43_200, 'retail'],
      ['daily_sales', 'freshness', 0.99, 43_200, 'retail'],
      ['platform_kpis', 'freshness', 0.99, 43_200, undefined],
      ['platform-gold', 'freshness', 0.99, 43_200, undefined],
    ]);
    expect(Object.keys(slos.compositeAlarms)).toEqual(
      [
        'orders-quality',
        'orders-freshness',
        'ledger-quality',
        'visits-completeness',
        'daily_sales-freshness',
        'platform_kpis-freshness',
        'platform-gold-freshness',
      ].flatMap((k) => [`${k}-page`, `${k}-ticket`]),
    );
    // Six windows per SLO; completeness adds its trailing-baseline alarm.
    expect(Object.keys(slos.alarms)).toHaveLength(7 * 6 + 1);
    expect(slos.alarms['visits-completeness-ticket-baseline']).toBeDefined();
    t.resourceCountIs('AWS::CloudWatch::Alarm', 43);
    t.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 14);
  });

  test("every alert reaches its own domain's topic of its severity, and the platform's own the platform topic", () => {
    const expected: Record<string, string> = {};
    for (const s of ['page', 'ticket'] as const) {
      for (const k of ['orders-quality', 'orders-freshness', 'visits-completeness', 'daily_sales-freshness'])
        expected[`Medallion-dev-slo-${k}-${s}`] = ref(topics.topics.retail[s]);
      expected[`Medallion-dev-slo-ledger-quality-${s}`] = ref(topics.topics.finance[s]);
      for (const k of ['platform_kpis-freshness', 'platform-gold-freshness'])
        expected[`Medallion-dev-slo-${k}-${s}`] = ref(platform.topic);
    }
    const actual = Object.fromEntries(
      Object.values(t.findResources('AWS::CloudWatch::CompositeAlarm')).map((a) => {
        expect(a.Properties.OKActions).toEqual(a.Properties.AlarmActions);
        expect(a.Properties.AlarmActions).toHaveLength(1);
        return [a.Properties.AlarmName, a.Properties.AlarmActions[0].Ref];
      }),
    );
    expect(actual).toEqual(expected);
  });

  test("the thresholds come from each contract's objective: ledger's 99.9% pages above 1.44% over 1 h", () => {
    const byName = (name: string) =>
      Object.values(t.findResources('AWS::CloudWatch::Alarm')).find((a) => a.Properties.AlarmName === name)
        ?.Properties;
    expect(byName('Medallion-dev-slo-ledger-quality-page-1h')?.Threshold).toBe(0.0144);
    expect(byName('Medallion-dev-slo-orders-quality-page-1h')?.Threshold).toBe(0.144);
    expect(byName('Medallion-dev-slo-platform-gold-freshness-page-1h')?.Metrics[1].MetricStat).toEqual({
      Metric: { Namespace: 'Medallion', MetricName: 'GoldPublished' },
      Period: 3600,
      Stat: 'Sum',
    });
  });

  test('the widgets: the alerts, then per product its budget left and its burn-down over its SLO window', () => {
    const body = Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody;
    const text = (body['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'ref')).join('');
    const widgets = (
      JSON.parse(text) as {
        widgets: {
          type: string;
          properties: {
            view?: string;
            title?: string;
            start?: string;
            alarms?: unknown[];
            metrics?: unknown[][];
          };
        }[];
      }
    ).widgets;
    expect(widgets[0].properties.alarms).toHaveLength(14);
    const rows = widgets.slice(1).map((w) => [w.properties.view, w.properties.title, w.properties.start]);
    expect(rows).toEqual([
      ['singleValue', 'retail/orders: error budget left over the last 30 days', '-P30D'],
      [
        'timeSeries',
        'retail/orders: error budget over the last 30 days (%; below 0, the SLO is missed)',
        '-P30D',
      ],
      ['singleValue', 'finance/ledger: error budget left over the last 7 days', '-P7D'],
      [
        'timeSeries',
        'finance/ledger: error budget over the last 7 days (%; below 0, the SLO is missed)',
        '-P7D',
      ],
      ['singleValue', 'retail/visits: error budget left over the last 30 days', '-P30D'],
      [
        'timeSeries',
        'retail/visits: error budget over the last 30 days (%; below 0, the SLO is missed)',
        '-P30D',
      ],
      ['singleValue', 'gold/daily_sales: error budget left over the last 30 days', '-P30D'],
      [
        'timeSeries',
        'gold/daily_sales: error budget over the last 30 days (%; below 0, the SLO is missed)',
        '-P30D',
      ],
      ['singleValue', 'gold/platform_kpis: error budget left over the last 30 days', '-P30D'],
      [
        'timeSeries',
        'gold/platform_kpis: error budget over the last 30 days (%; below 0, the SLO is missed)',
        '-P30D',
      ],
      ['singleValue', 'gold: error budget left over the last 30 days', '-P30D'],
      ['timeSeries', 'gold: error budget over the last 30 days (%; below 0, the SLO is missed)', '-P30D'],
    ]);
    const expressions = widgets[1].properties.metrics
      ?.map((m) => (m[0] as { expression?: string }).expression)
      .filter(Boolean);
    expect(expressions).toEqual([
      '100 * (1 - IF(RUNNING_SUM(FILL(rowsIn, 0)) > 0, RUNNING_SUM(FILL(quarantined, 0)) / RUNNING_SUM(FILL(rowsIn, 0)), 0) / 0.01)',
      '100 * (1 - RUNNING_SUM(IF(FILL(lag, 0) > 3600, 1, 0)) / (0.01 * 2592000 / PERIOD(lag)))',
    ]);
    const completeness = widgets[5].properties.metrics
      ?.map((m) => (m[0] as { expression?: string }).expression)
      .filter(Boolean);
    expect(completeness).toEqual([
      '100 * (1 - IF(RUNNING_SUM(FILL(rowsStated, 0)) > 0, RUNNING_SUM(FILL(rowsMissing, 0)) / RUNNING_SUM(FILL(rowsStated, 0)), 0) / 0.01)',
    ]);
    const gold = widgets[7].properties.metrics
      ?.map((m) => (m[0] as { expression?: string }).expression)
      .filter(Boolean);
    expect(gold).toEqual([
      '100 * (1 - RUNNING_SUM(IF(FILL(published, 0) > 0, 0, 1)) / (0.01 * 2592000 / PERIOD(published)))',
    ]);
  });

  test('a freshnessObjective of 99.9% tightens every freshness window', () => {
    const strict = build({ freshnessObjective: 0.999 }).t;
    const page6h = Object.values(strict.findResources('AWS::CloudWatch::Alarm')).find(
      (a) => a.Properties.AlarmName === 'Medallion-dev-slo-orders-freshness-page-6h',
    )?.Properties;
    // 6 x 0.1% of 72 periods = 0.43: one late 5-minute period in 6 h (the default 99% needs five).
    expect([page6h?.EvaluationPeriods, page6h?.DatapointsToAlarm]).toEqual([72, 1]);
  });

  test('an SLO of no domain without a platform topic is refused rather than sent elsewhere', () => {
    expect(() => build({ platformTopic: undefined })).toThrow(
      'gold/platform_kpis belongs to no domain: give DataProductSlos a platformTopic for its alerts',
    );
  });

  test('without domain topics, the platform topic takes the platform SLOs and a domain SLO is refused', () => {
    const platformOnly = build({ topics: undefined, contracts: [], models: [models[1]] });
    expect(Object.keys(platformOnly.slos.compositeAlarms)).toHaveLength(4);
    expect(() => build({ topics: undefined })).toThrow(
      "retail/orders belongs to domain 'retail': give DataProductSlos its topics",
    );
  });

  test('a product of a domain without topics is refused', () => {
    const other = itemsContract(
      [],
      { sla: { quality: '99%' } },
      { domain: 'marketing', dataset: 'campaigns' },
    );
    expect(() => build({ contracts: [...contracts, other] })).toThrow("no page topic for domain 'marketing'");
  });
});

describe('cdk-nag', () => {
  test('topics, SLO alarms and widgets: zero AwsSolutions findings', () => {
    const outdir = join(tmp, 'nag');
    const { app } = build({}, outdir);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; violations: unknown[]; suppressedViolations?: unknown[] }[];
    };
    const nag = report.pluginReports.filter((r) => r.pluginName === 'AwsSolutions');
    expect(nag.flatMap((r) => r.violations)).toEqual([]);
    expect(nag.flatMap((r) => r.suppressedViolations ?? [])).toEqual([]);
  });
});
