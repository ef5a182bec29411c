/**
 * SLO burn-rate alerts: the arithmetic (burn rate, thresholds, windows, when a steady error ratio is
 * paged), then the alarms one SLO synthesizes: expressions, windows, thresholds from the objective, the
 * composites AND-ing each pair, and their topics.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { addSloAlarms } from '../../../lib/monitoring/slo-alarms';
import type { Slo } from '../../../lib/monitoring/slo-definitions';
import {
  alertTable,
  alertTimes,
  BURN_RATE_ALERTS,
  badPeriodsToAlarm,
  burnRate,
  burnThreshold,
  errorBudget,
  minutesToAlert,
  periodWindow,
  ratioWindow,
} from '../../../lib/monitoring/slo-metrics';
import { testContext } from '../../support/cdk';

const DAYS_30 = 30 * 24 * 60;

describe('SLO arithmetic', () => {
  test('burn rate = error ratio / (1 - objective), without floating-point noise', () => {
    expect(burnRate(0.144, 0.99)).toBe(14.4);
    expect(burnRate(0.01, 0.99)).toBe(1);
    expect(burnRate(0.001, 0.999)).toBe(1);
    expect(burnRate(0, 0.9)).toBe(0);
    expect(errorBudget(0.999)).toBe(0.001);
    expect(() => burnRate(0.1, 1)).toThrow(/objective/);
    expect(() => burnRate(1.5, 0.99)).toThrow(/error ratio/);
  });

  test("the policy is the SRE workbook's: 14.4x over 1 h/5 min and 6x over 6 h/30 min page, 1x over 3 d/6 h tickets", () => {
    expect(BURN_RATE_ALERTS).toEqual([
      { severity: 'page', longMinutes: 60, shortMinutes: 5, burnRate: 14.4 },
      { severity: 'page', longMinutes: 360, shortMinutes: 30, burnRate: 6 },
      { severity: 'ticket', longMinutes: 4320, shortMinutes: 360, burnRate: 1 },
    ]);
  });

  test('the threshold table of a 99% objective over 30 days: 2%, 5% and 10% of the budget, gone in 50 h, 5 and 30 days', () => {
    expect(alertTable(0.99, DAYS_30).map((r) => [r.errorRatio, r.budgetSpent, r.hoursToExhaustion])).toEqual([
      [0.144, 0.02, 50],
      [0.06, 0.05, 120],
      [0.01, 0.1, 720],
    ]);
    expect(alertTable(0.999, DAYS_30).map((r) => r.errorRatio)).toEqual([0.0144, 0.006, 0.001]);
    // A 7-day window spends its budget faster at the same burn rate.
    expect(alertTable(0.99, 7 * 24 * 60).map((r) => r.budgetSpent)).toEqual([
      0.0857142857143, 0.214285714286, 0.428571428571,
    ]);
  });

  test('an objective too low for a burn rate makes its alert fire only when everything fails', () => {
    expect(burnThreshold(14.4, 0.8)).toEqual({ errorRatio: 1, reachable: false });
    expect(burnThreshold(6, 0.8)).toEqual({ errorRatio: 1, reachable: false });
    expect(burnThreshold(1, 0.8)).toEqual({ errorRatio: 0.2, reachable: true });
    expect(burnThreshold(14.4, 0.95)).toEqual({ errorRatio: 0.72, reachable: true });
  });

  test('expected behaviour: a total outage of a 99.9% product pages in 52 s and tickets in 4.3 min', () => {
    const t = alertTimes(1, 0.999);
    expect(t.page).toBeCloseTo(0.864, 6); // 1 h x 1.44% of errors allowed at 14.4x
    expect(t.ticket).toBeCloseTo(4.32, 6); // 3 d x 0.1%
  });

  test('expected behaviour: 1% errors on 99.9% (burn 10x) skip the 14.4x page and page at 6x after 3.6 h', () => {
    const [fast, slow, ticket] = BURN_RATE_ALERTS;
    expect(minutesToAlert(fast, 0.01, 0.999)).toBe(Number.POSITIVE_INFINITY);
    expect(minutesToAlert(slow, 0.01, 0.999)).toBe(216);
    expect(minutesToAlert(ticket, 0.01, 0.999)).toBe(432);
    expect(alertTimes(0.01, 0.999)).toEqual({ page: 216, ticket: 432 });
  });

  test('expected behaviour: errors at the sustainable pace (burn 1x) are never paged nor ticketed', () => {
    expect(alertTimes(0.001, 0.999)).toEqual({
      page: Number.POSITIVE_INFINITY,
      ticket: Number.POSITIVE_INFINITY,
    });
    expect(alertTimes(0.0011, 0.999).ticket).toBeCloseTo(3927.27, 1);
  });

  test('M out of N: the fewest bad periods whose share exceeds the threshold', () => {
    expect(badPeriodsToAlarm(0.144, 12)).toBe(2); // 1/12 = 8.3% is not over 14.4%, 2/12 is
    expect(badPeriodsToAlarm(0.06, 72)).toBe(5); // 4/72 = 5.6%, 5/72 = 6.9%
    expect(badPeriodsToAlarm(0.01, 72)).toBe(1);
    expect(badPeriodsToAlarm(0.01, 100)).toBe(2); // exactly 1% is not over 1%
    expect(badPeriodsToAlarm(1, 12)).toBe(12);
  });

  test('ratio windows are one period as long as the window, 3 days included (periods of an hour or more may span 7 days)', () => {
    expect(ratioWindow(5).period.toSeconds()).toBe(300);
    expect(ratioWindow(4320).period.toSeconds()).toBe(259_200);
    expect(() => ratioWindow(8 * 24 * 60)).toThrow(/cannot be one CloudWatch period/);
  });

  test('period windows: exact when they fit, 3 days counted in hours, a bucket longer than the window covers it', () => {
    expect(periodWindow(60, 5)).toEqual({
      periodMinutes: 5,
      evaluationPeriods: 12,
      coveredMinutes: 60,
      exact: true,
    });
    expect(periodWindow(360, 5)).toEqual({
      periodMinutes: 5,
      evaluationPeriods: 72,
      coveredMinutes: 360,
      exact: true,
    });
    expect(periodWindow(4320, 5)).toEqual({
      periodMinutes: 60,
      evaluationPeriods: 72,
      coveredMinutes: 4320,
      exact: false,
    });
    expect(periodWindow(60, 120)).toEqual({
      periodMinutes: 120,
      evaluationPeriods: 1,
      coveredMinutes: 120,
      exact: false,
    });
    expect(periodWindow(4320, 120)).toEqual({
      periodMinutes: 120,
      evaluationPeriods: 36,
      coveredMinutes: 4320,
      exact: true,
    });
    expect(periodWindow(4320, 1440)).toEqual({
      periodMinutes: 1440,
      evaluationPeriods: 3,
      coveredMinutes: 4320,
      exact: true,
    });
    expect(periodWindow(360, 90)).toEqual({
      periodMinutes: 90,
      evaluationPeriods: 4,
      coveredMinutes: 360,
      exact: true,
    });
    expect(() => periodWindow(60, 0)).toThrow(/whole number of minutes/);
  });
});

const PAGE = 'arn:aws:sns:eu-west-1:111111111111:retail-page';
const TICKET = 'arn:aws:sns:eu-west-1:111111111111:retail-ticket';

function synth(slo: Slo) {
  const app = new App({ context: testContext() });
  const stack = new Stack(app, 'Slo', { env: { account: '111111111111', region: 'eu-west-1' } });
  const set = addSloAlarms(stack, {
    namePrefix: 'Medallion-dev',
    slo,
    topics: {
      page: sns.Topic.fromTopicArn(stack, 'Page', PAGE),
      ticket: sns.Topic.fromTopicArn(stack, 'Ticket', TICKET),
    },
  });
  const t = Template.fromStack(stack);
  const byName = (name: string) => {
    const found = Object.entries(t.findResources('AWS::CloudWatch::Alarm')).find(
      ([, a]) => a.Properties.AlarmName === name,
    );
    if (!found) throw new Error(`no alarm ${name}`);
    return { id: found[0], props: found[1].Properties };
  };
  const composite = (name: string) => {
    const found = Object.values(t.findResources('AWS::CloudWatch::CompositeAlarm')).find(
      (a) => a.Properties.AlarmName === name,
    );
    if (!found) throw new Error(`no composite ${name}`);
    return found.Properties;
  };
  return { t, set, byName, composite };
}

/** An alarm rule with each `Fn::GetAtt [<id>, Arn]` written as `<id>`. */
function ruleText(rule: unknown): string {
  if (typeof rule === 'string') return rule;
  const parts = (rule as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  return parts
    .map((p) => (typeof p === 'string' ? p : `<${(p as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]}>`))
    .join('');
}

const quality: Slo = {
  product: 'orders',
  title: 'retail/orders',
  domain: 'retail',
  contact: 'retail-data@example.com',
  sli: 'quality',
  objective: 0.99,
  windowMinutes: DAYS_30,
  indicator: { kind: 'quarantinedRows', dataset: 'orders' },
};

describe('the alarms of a quality SLO (99% of rows pass over 30 days)', () => {
  const { t, set, byName, composite } = synth(quality);
  const windows = ['page-1h', 'page-5m', 'page-6h', 'page-30m', 'ticket-3d', 'ticket-6h'];

  test('six window alarms and two composites, named <prefix>-slo-<product>-<sli>-<severity>[-<window>]', () => {
    expect(Object.keys(set.windows)).toEqual(windows);
    t.resourceCountIs('AWS::CloudWatch::Alarm', 6);
    t.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 2);
    for (const w of windows) expect(byName(`Medallion-dev-slo-orders-quality-${w}`)).toBeDefined();
    expect(composite('Medallion-dev-slo-orders-quality-page')).toBeDefined();
    expect(composite('Medallion-dev-slo-orders-quality-ticket')).toBeDefined();
  });

  test('each window is one summed period as long as the window, compared with burn rate x (1 - 0.99)', () => {
    const expected: [string, number, number][] = [
      ['page-1h', 3600, 0.144],
      ['page-5m', 300, 0.144],
      ['page-6h', 21_600, 0.06],
      ['page-30m', 1800, 0.06],
      ['ticket-3d', 259_200, 0.01],
      ['ticket-6h', 21_600, 0.01],
    ];
    for (const [w, period, threshold] of expected) {
      const metric = (name: string, id: string) => ({
        Id: id,
        MetricStat: {
          Metric: {
            Namespace: 'Medallion',
            MetricName: name,
            Dimensions: [{ Name: 'Dataset', Value: 'orders' }],
          },
          Period: period,
          Stat: 'Sum',
        },
        ReturnData: false,
      });
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `Medallion-dev-slo-orders-quality-${w}`,
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        TreatMissingData: 'notBreaching',
        Metrics: [
          Match.objectLike({ Expression: 'IF(rowsIn > 0, quarantined / rowsIn, 0)', ReturnData: true }),
          metric('RowsIn', 'rowsIn'),
          metric('RowsQuarantined', 'quarantined'),
        ],
      });
    }
  });

  test('the window alarms notify nobody; the composites send ALARM and OK to their severity topic', () => {
    for (const w of windows) {
      const { props } = byName(`Medallion-dev-slo-orders-quality-${w}`);
      expect(props.AlarmActions ?? []).toEqual([]);
      expect(props.OKActions ?? []).toEqual([]);
    }
    const page = composite('Medallion-dev-slo-orders-quality-page');
    expect(page.AlarmActions).toEqual([PAGE]);
    expect(page.OKActions).toEqual([PAGE]);
    const ticket = composite('Medallion-dev-slo-orders-quality-ticket');
    expect(ticket.AlarmActions).toEqual([TICKET]);
    expect(ticket.OKActions).toEqual([TICKET]);
  });

  test('the page composite ANDs 1 h with 5 min and 6 h with 30 min; the ticket ANDs 3 days with 6 h', () => {
    const id = (w: string) => `<${byName(`Medallion-dev-slo-orders-quality-${w}`).id}>`;
    expect(ruleText(composite('Medallion-dev-slo-orders-quality-page').AlarmRule)).toBe(
      `((ALARM("${id('page-1h')}") AND ALARM("${id('page-5m')}")) OR (ALARM("${id('page-6h')}") AND ALARM("${id('page-30m')}")))`,
    );
    expect(ruleText(composite('Medallion-dev-slo-orders-quality-ticket').AlarmRule)).toBe(
      `((ALARM("${id('ticket-3d')}") AND ALARM("${id('ticket-6h')}")))`,
    );
  });

  test('the descriptions say the SLO, the budget, the burn rates and what to do, within 1024 characters', () => {
    const page = composite('Medallion-dev-slo-orders-quality-page').AlarmDescription as string;
    expect(page.length).toBeLessThanOrEqual(1024);
    expect(page).toContain(
      '99% of the rows read pass the contract over 30 days; error budget 1% of the rows',
    );
    expect(page).toContain(
      '14.4x over 1 h and still over 5 min (2% of the budget gone in 1 h, all of it in 50 h',
    );
    expect(page).toContain('6x over 6 h and still over 30 min (5% of the budget gone in 6 h');
    expect(page).toContain('What to do: read quarantinedByReason');
    expect(page).toContain('Owner: retail-data@example.com.');
    const ticket = composite('Medallion-dev-slo-orders-quality-ticket').AlarmDescription as string;
    expect(ticket).toContain('TICKET');
    expect(ticket).toContain('1x over 3 days and still over 6 h (10% of the budget gone in 3 days');
    expect(byName('Medallion-dev-slo-orders-quality-page-1h').props.AlarmDescription).toContain(
      'more than 14.4% of the rows read in the last 1 h quarantined (burn rate 14.4x on a 99% objective over 30 days)',
    );
  });
});

describe('the alarms of a completeness SLO (99.9% of the stated rows arrive over 30 days)', () => {
  const completeness: Slo = {
    ...quality,
    sli: 'completeness',
    objective: 0.999,
    indicator: { kind: 'missingRows', dataset: 'orders' },
  };
  const { t, set, byName, composite } = synth(completeness);
  const name = (w: string) => `Medallion-dev-slo-orders-completeness-${w}`;

  test('the six burn-rate windows on RowsMissing / RowsExpected, thresholds from the 99.9% objective', () => {
    expect(Object.keys(set.windows)).toEqual([
      'page-1h',
      'page-5m',
      'page-6h',
      'page-30m',
      'ticket-3d',
      'ticket-6h',
      'ticket-baseline',
    ]);
    for (const [w, period, threshold] of [
      ['page-1h', 3600, 0.0144],
      ['page-5m', 300, 0.0144],
      ['ticket-3d', 259_200, 0.001],
    ] as const) {
      const metric = (metricName: string, id: string) => ({
        Id: id,
        MetricStat: {
          Metric: {
            Namespace: 'Medallion',
            MetricName: metricName,
            Dimensions: [{ Name: 'Dataset', Value: 'orders' }],
          },
          Period: period,
          Stat: 'Sum',
        },
        ReturnData: false,
      });
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: name(w),
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        Metrics: [
          Match.objectLike({ Expression: 'IF(expected > 0, missing / expected, 0)', ReturnData: true }),
          metric('RowsExpected', 'expected'),
          metric('RowsMissing', 'missing'),
        ],
      });
    }
    expect(byName(name('page-1h')).props.AlarmDescription).toContain(
      'more than 1.44% of the rows its files stated in the last 1 h missing from them',
    );
  });

  test('a trailing-baseline alarm: rows read per hour (hours without files as 0) below the anomaly band', () => {
    const { props } = byName(name('ticket-baseline'));
    expect(props).toMatchObject({
      ComparisonOperator: 'LessThanLowerThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(props.Threshold).toBeUndefined();
    // biome-ignore lint/suspicious/noExplicitAny: template JSON
    const metrics = props.Metrics as any[];
    const band = metrics.find((m) => m.Id === props.ThresholdMetricId);
    const watched = metrics.find((m) => m.ReturnData && m.Id !== props.ThresholdMetricId);
    expect(band.Expression).toMatch(new RegExp(`^ANOMALY_DETECTION_BAND\\(${watched.Id}, 3\\)$`));
    expect(watched.Expression).toBe('FILL(rowsIn, 0)');
    expect(metrics.find((m) => m.Id === 'rowsIn').MetricStat).toEqual({
      Metric: {
        Namespace: 'Medallion',
        MetricName: 'RowsIn',
        Dimensions: [{ Name: 'Dataset', Value: 'orders' }],
      },
      Period: 3600,
      Stat: 'Sum',
    });
    expect(props.AlarmActions ?? []).toEqual([]);
  });

  test('the ticket fires on the slow burn or on the baseline; the page on the fast burns only', () => {
    const id = (w: string) => `<${byName(name(w)).id}>`;
    expect(ruleText(composite(name('ticket')).AlarmRule)).toBe(
      `((ALARM("${id('ticket-3d')}") AND ALARM("${id('ticket-6h')}")) OR ALARM("${id('ticket-baseline')}"))`,
    );
    expect(ruleText(composite(name('page')).AlarmRule)).not.toContain(id('ticket-baseline'));
    const ticket = composite(name('ticket')).AlarmDescription as string;
    expect(ticket.length).toBeLessThanOrEqual(1024);
    expect(ticket).toContain(
      '99.9% of the rows its files state arrive over 30 days; error budget 0.1% of them',
    );
    expect(ticket).toContain(
      'fewer rows read in an hour than the trailing baseline expects (whole files missing)',
    );
  });
});

describe('the alarms of a quality SLO too low for the page burn rates (80%)', () => {
  const { byName } = synth({ ...quality, objective: 0.8 });

  test('the unreachable windows fire only when every row is quarantined; the ticket keeps burn rate x budget', () => {
    for (const w of ['page-1h', 'page-5m', 'page-6h', 'page-30m']) {
      const { props } = byName(`Medallion-dev-slo-orders-quality-${w}`);
      expect([props.Threshold, props.ComparisonOperator]).toEqual([1, 'GreaterThanOrEqualToThreshold']);
    }
    const { props } = byName('Medallion-dev-slo-orders-quality-ticket-3d');
    expect([props.Threshold, props.ComparisonOperator]).toEqual([0.2, 'GreaterThanThreshold']);
  });
});

describe('the alarms of a dataset freshness SLO (1 hour, 99% of 5-minute periods)', () => {
  const { byName, composite } = synth({
    ...quality,
    sli: 'freshness',
    indicator: { kind: 'lateTransforms', dataset: 'orders', freshnessMinutes: 60, periodMinutes: 5 },
  });

  test('a period is late when the lag maximum exceeds the target: IF(FILL(lag, 0) > 3600, 1, 0)', () => {
    const { props } = byName('Medallion-dev-slo-orders-freshness-page-1h');
    expect(props.Metrics).toEqual([
      expect.objectContaining({ Expression: 'IF(FILL(lag, 0) > 3600, 1, 0)', ReturnData: true }),
      {
        Id: 'lag',
        MetricStat: {
          Metric: {
            Namespace: 'Medallion',
            MetricName: 'TransformLagSeconds',
            Dimensions: [{ Name: 'Dataset', Value: 'orders' }],
          },
          Period: 300,
          Stat: 'Maximum',
        },
        ReturnData: false,
      },
    ]);
    expect([props.Threshold, props.ComparisonOperator, props.TreatMissingData]).toEqual([
      0,
      'GreaterThanThreshold',
      'notBreaching',
    ]);
  });

  test('each window counts its late periods, M out of N; the 3-day window counts hours', () => {
    const expected: [string, number, number, number][] = [
      ['page-1h', 300, 12, 2],
      ['page-5m', 300, 1, 1],
      ['page-6h', 300, 72, 5],
      ['page-30m', 300, 6, 1],
      ['ticket-3d', 3600, 72, 1],
      ['ticket-6h', 300, 72, 1],
    ];
    for (const [w, period, n, m] of expected) {
      const { props } = byName(`Medallion-dev-slo-orders-freshness-${w}`);
      expect([
        w,
        props.Metrics[1].MetricStat.Period,
        props.EvaluationPeriods,
        props.DatapointsToAlarm,
      ]).toEqual([w, period, n, m]);
    }
    expect(byName('Medallion-dev-slo-orders-freshness-ticket-3d').props.AlarmDescription).toContain(
      'Approximated: CloudWatch counts 1 h periods over 3 days',
    );
    expect(composite('Medallion-dev-slo-orders-freshness-page').AlarmDescription).toContain(
      'rows reach silver within 1 h of landing in 99% of the 5-min periods over 30 days',
    );
  });
});

describe('the alarms of a gold model freshness SLO (2 hours)', () => {
  const { byName, composite } = synth({
    product: 'daily_sales',
    title: 'gold/daily_sales',
    domain: 'retail',
    sli: 'freshness',
    objective: 0.99,
    windowMinutes: DAYS_30,
    indicator: { kind: 'unpublished', model: 'daily_sales', freshnessMinutes: 120 },
  });

  test('a 2-hour bucket without Medallion/ModelPublished{Model} is bad, and no data at all is too', () => {
    const { props } = byName('Medallion-dev-slo-daily_sales-freshness-ticket-3d');
    expect(props.Metrics).toEqual([
      expect.objectContaining({ Expression: 'IF(FILL(published, 0) > 0, 0, 1)', ReturnData: true }),
      {
        Id: 'published',
        MetricStat: {
          Metric: {
            Namespace: 'Medallion',
            MetricName: 'ModelPublished',
            Dimensions: [{ Name: 'Model', Value: 'daily_sales' }],
          },
          Period: 7200,
          Stat: 'Sum',
        },
        ReturnData: false,
      },
    ]);
    expect([props.EvaluationPeriods, props.DatapointsToAlarm, props.TreatMissingData]).toEqual([
      36,
      1,
      'breaching',
    ]);
    // Windows shorter than the bucket are judged on the last bucket.
    expect(byName('Medallion-dev-slo-daily_sales-freshness-page-5m').props.EvaluationPeriods).toBe(1);
    expect(composite('Medallion-dev-slo-daily_sales-freshness-page').AlarmDescription).toContain(
      "open the gold workflow's recent executions",
    );
  });
});
