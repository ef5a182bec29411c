import { METRICS_NAMESPACE, metricsDocument } from '../../../core/telemetry/metrics';
import {
  type AlarmTemplate,
  commonNamePrefix,
  evaluateAlarms,
} from '../../../local/monitoring/alarm-evaluation';
import { CloudMetricsRecorder, recordGoldRun } from '../../../local/monitoring/cloud-metrics';
import { LocalMetrics } from '../../../local/monitoring/local-metrics';

const AT = Date.UTC(2026, 10, 1, 12, 0, 0);

/** A quarantine-ratio alarm as the CDK app synthesizes it. */
function ratioAlarm(dataset: string, threshold: number) {
  const stat = (id: string, name: string) => ({
    Id: id,
    MetricStat: {
      Metric: { Dimensions: [{ Name: 'Dataset', Value: dataset }], MetricName: name, Namespace: 'Medallion' },
      Period: 300,
      Stat: 'Sum',
    },
    ReturnData: false,
  });
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: `Medallion-dev-QuarantineRatio-${dataset}`,
      AlarmDescription: `More than ${threshold * 100}% of the rows of ${dataset} were quarantined.`,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      Metrics: [
        { Expression: 'IF(rowsIn > 0, quarantined / rowsIn, 0)', Id: 'expr_1', ReturnData: true },
        stat('rowsIn', 'RowsIn'),
        stat('quarantined', 'RowsQuarantined'),
      ],
      Threshold: threshold,
      TreatMissingData: 'notBreaching',
    },
  };
}

/** A single-metric alarm. */
function metricAlarm(name: string, p: Record<string, unknown>) {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: `Medallion-dev-${name}`,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      Period: 300,
      Statistic: 'Sum',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
      ...p,
    },
  };
}

function rows(metrics: LocalMetrics, dataset: string, rowsIn: number, quarantined: number) {
  const doc = metricsDocument(
    METRICS_NAMESPACE,
    { Dataset: dataset },
    [
      { name: 'RowsIn', value: rowsIn, unit: 'Count' },
      { name: 'RowsQuarantined', value: quarantined, unit: 'Count' },
    ],
    AT,
  );
  metrics.recordLogLine(JSON.stringify(doc));
}

/** A template of these resources and the pipeline's dashboard (its name is the alarms' name prefix). */
function templateOf(resources: AlarmTemplate['Resources']): AlarmTemplate {
  return {
    Resources: {
      Dashboard: { Type: 'AWS::CloudWatch::Dashboard', Properties: { DashboardName: 'Medallion-dev' } },
      ...resources,
    },
  };
}

const byId = (results: ReturnType<typeof evaluateAlarms>) =>
  Object.fromEntries(results.map((r) => [r.alarmId, r]));

describe('evaluateAlarms', () => {
  const template = templateOf({ Stores: ratioAlarm('stores', 0.05), Orders: ratioAlarm('orders', 0.2) });

  it('alarms when the run quarantined more than the contract allows, summed over all its files', () => {
    const metrics = new LocalMetrics();
    rows(metrics, 'stores', 6, 4);
    rows(metrics, 'stores', 4, 1);
    rows(metrics, 'orders', 10, 1);
    const results = byId(evaluateAlarms(template, metrics));
    expect(results['QuarantineRatio-stores']).toMatchObject({
      alarmName: 'Medallion-dev-QuarantineRatio-stores',
      logicalId: 'Stores',
      state: 'ALARM',
      line: 'QuarantineRatio-stores 50% > 5%',
      value: 0.5,
      threshold: 0.05,
      description: 'More than 5% of the rows of stores were quarantined.',
    });
    expect(results['QuarantineRatio-orders']).toMatchObject({
      state: 'OK',
      line: 'QuarantineRatio-orders 10% (alarms at > 20%)',
    });
  });

  it('is OK without data for an alarm that treats missing data as not breaching', () => {
    const results = byId(evaluateAlarms(template, new LocalMetrics()));
    expect(results['QuarantineRatio-stores']).toMatchObject({
      state: 'OK',
      line: 'QuarantineRatio-stores no data (alarms at > 5%)',
    });
    expect(results['QuarantineRatio-stores'].value).toBeUndefined();
  });

  it('reads only the data points of the window it is given', () => {
    const metrics = new LocalMetrics();
    rows(metrics, 'stores', 2, 2);
    expect(byId(evaluateAlarms(template, metrics, { from: AT + 1 }))['QuarantineRatio-stores'].state).toBe(
      'OK',
    );
    expect(byId(evaluateAlarms(template, metrics, { to: AT }))['QuarantineRatio-stores'].state).toBe('ALARM');
  });

  it('judges an M-of-N alarm on one period: a breaching run alone does not alarm', () => {
    const errorRate = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: 'Medallion-dev-ErrorRate-Transform',
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        Metrics: [
          { Expression: 'IF(invocations > 0, errors / invocations, 0)', Id: 'e', ReturnData: true },
          ...['Errors', 'Invocations'].map((name) => ({
            Id: name.toLowerCase(),
            MetricStat: {
              Metric: {
                Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'TransformFunction81BD7A37' } }],
                MetricName: name,
                Namespace: 'AWS/Lambda',
              },
              Period: 300,
              Stat: 'Sum',
            },
            ReturnData: false,
          })),
        ],
        Threshold: 0.05,
        TreatMissingData: 'notBreaching',
      },
    };
    const t = templateOf({
      ErrorRate: errorRate,
      TransformFunction81BD7A37: { Type: 'AWS::Lambda::Function' },
      ...template.Resources,
    });
    const metrics = new LocalMetrics();
    const recorder = new CloudMetricsRecorder(metrics);
    recorder.invocation({ logicalId: 'TransformFunction81BD7A37', at: AT, durationMs: 10, failed: true });
    recorder.invocation({ logicalId: 'TransformFunction81BD7A37', at: AT, durationMs: 10, failed: false });
    expect(byId(evaluateAlarms(t, metrics))['ErrorRate-Transform']).toMatchObject({
      state: 'OK',
      value: 0.5,
      line: 'ErrorRate-Transform 50% > 5% (2 of 3 periods needed, a local run is one)',
    });
  });

  it('does not judge absence of data: an alarm breaching on missing data and a run without data point', () => {
    const t = templateOf({
      Freshness: metricAlarm('Freshness', {
        MetricName: 'GoldPublished',
        Namespace: 'Medallion',
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        EvaluationPeriods: 12,
        DatapointsToAlarm: 12,
        TreatMissingData: 'breaching',
      }),
      Stranded: metricAlarm('Stranded', {
        MetricName: 'Stranded',
        Namespace: 'Medallion',
        Statistic: 'Maximum',
        TreatMissingData: 'breaching',
      }),
    });
    const empty = byId(evaluateAlarms(t, new LocalMetrics()));
    expect(empty.Freshness.state).toBe('NOT_EVALUATED');
    expect(empty.Freshness.reason).toMatch(/alarms on missing data, and a local run is too short/);
    expect(empty.Freshness.line).toMatch(/^Freshness not evaluated locally: /);
    expect(empty.Stranded.state).toBe('NOT_EVALUATED');

    const metrics = new LocalMetrics();
    recordGoldRun(metrics, {
      status: 'SUCCEEDED',
      metrics: [{ Namespace: 'Medallion', MetricData: [{ MetricName: 'GoldPublished', Value: 1 }] }],
    });
    new CloudMetricsRecorder(metrics).stranded(2);
    const withData = byId(evaluateAlarms(t, metrics));
    expect(withData.Freshness).toMatchObject({ state: 'OK', line: 'Freshness 1 (alarms at < 1)' });
    expect(withData.Stranded).toMatchObject({ state: 'ALARM', line: 'Stranded 2 > 0' });
  });

  it('keeps INSUFFICIENT_DATA for an alarm that ignores missing data when the run has none', () => {
    const t = templateOf({
      Dlq: metricAlarm('DeadLetters-Transform', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['DeadLetters9FC68E76', 'QueueName'] } }],
        Statistic: 'Maximum',
        TreatMissingData: 'ignore',
      }),
      DeadLetters9FC68E76: { Type: 'AWS::SQS::Queue' },
      Queue373A2D7F: {
        Type: 'AWS::SQS::Queue',
        Properties: {
          RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['DeadLetters9FC68E76', 'Arn'] } },
        },
      },
    });
    expect(evaluateAlarms(t, new LocalMetrics())[0]).toMatchObject({
      state: 'INSUFFICIENT_DATA',
      line: 'DeadLetters-Transform no data (alarms at > 0)',
    });
    const metrics = new LocalMetrics();
    const recorder = new CloudMetricsRecorder(metrics);
    recorder.deadLetterDepth('DeadLetters9FC68E76', 0);
    expect(evaluateAlarms(t, metrics)[0].state).toBe('OK');
    recorder.deadLetterDepth('DeadLetters9FC68E76', 2);
    recorder.deadLetterDepth('DeadLetters9FC68E76', 1);
    expect(evaluateAlarms(t, metrics)[0]).toMatchObject({
      state: 'ALARM',
      line: 'DeadLetters-Transform 2 > 0',
    });
  });

  it('computes percentiles by nearest rank and shows durations in milliseconds', () => {
    const t = templateOf({
      Duration: metricAlarm('DurationNearTimeout-Landing', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Duration',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'LandingFunctionC8BC2805' } }],
        Statistic: undefined,
        ExtendedStatistic: 'p99',
        Threshold: 240000,
      }),
      LandingFunctionC8BC2805: { Type: 'AWS::Lambda::Function' },
    });
    const metrics = new LocalMetrics();
    const recorder = new CloudMetricsRecorder(metrics);
    for (const ms of [1000, 250000, 2000]) {
      recorder.invocation({ logicalId: 'LandingFunctionC8BC2805', at: AT, durationMs: ms, failed: false });
    }
    expect(evaluateAlarms(t, metrics)[0]).toMatchObject({
      state: 'ALARM',
      line: 'DurationNearTimeout-Landing 250000 ms > 240000 ms',
    });
  });

  it('says which alarms it cannot evaluate, and flags what it does not know as unsupported', () => {
    const t = templateOf({
      Throttles: metricAlarm('Throttles-Transform', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Throttles',
        Dimensions: [{ Name: 'FunctionName', Value: 'f' }],
      }),
      Api: metricAlarm('Api5xx', { Namespace: 'AWS/ApiGateway', MetricName: '5XXError' }),
      Band: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmName: 'Medallion-dev-Band',
          ComparisonOperator: 'GreaterThanThreshold',
          EvaluationPeriods: 1,
          Threshold: 1,
          Metrics: [
            { Id: 'e', Expression: 'ANOMALY_DETECTION_BAND(m, 2)' },
            {
              Id: 'm',
              ReturnData: false,
              MetricStat: {
                Metric: { Namespace: 'Medallion', MetricName: 'RowsIn' },
                Period: 300,
                Stat: 'Sum',
              },
            },
          ],
        },
      },
      Queue: metricAlarm('Backlog', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['Work1234ABCD', 'QueueName'] } }],
      }),
      Work1234ABCD: { Type: 'AWS::SQS::Queue' },
    });
    const results = byId(evaluateAlarms(t, new LocalMetrics()));
    expect(results['Throttles-Transform']).toMatchObject({ state: 'NOT_EVALUATED' });
    expect(results['Throttles-Transform'].reason).toMatch(/concurrency limits are not emulated/);
    expect(results['Throttles-Transform'].unsupported).toBeUndefined();
    expect(results.Api5xx).toMatchObject({
      state: 'NOT_EVALUATED',
      unsupported: true,
      reason: 'no local source for the metric AWS/ApiGateway 5XXError',
    });
    expect(results.Band).toMatchObject({ state: 'NOT_EVALUATED', unsupported: true });
    expect(results.Band.reason).toMatch(/ANOMALY_DETECTION_BAND is not supported locally/);
    expect(results.Backlog).toMatchObject({ state: 'NOT_EVALUATED', unsupported: true });
    expect(results.Backlog.reason).toMatch(/dead-letter and on-failure queues only/);
  });
});

describe('alarm ids', () => {
  it('leave out the prefix given, or the one the alarm names share when there is no dashboard', () => {
    const t: AlarmTemplate = {
      Resources: { A: metricAlarm('Stranded', { MetricName: 'Stranded', Namespace: 'Medallion' }) },
    };
    expect(evaluateAlarms(t, new LocalMetrics())[0].alarmId).toBe('Medallion-dev-Stranded');
    expect(evaluateAlarms(t, new LocalMetrics(), { alarmNamePrefix: 'Medallion-dev-' })[0].alarmId).toBe(
      'Stranded',
    );
  });
});

describe('commonNamePrefix', () => {
  it('is the stack prefix the alarm names share', () => {
    expect(
      commonNamePrefix(['Medallion-dev-Freshness', 'Medallion-dev-DeadLetters-X', 'Medallion-dev-Stranded']),
    ).toBe('Medallion-dev-');
    expect(commonNamePrefix(['Medallion-dev-DeadLetters-A', 'Medallion-dev-DeadLetters-B'])).toBe(
      'Medallion-dev-DeadLetters-',
    );
    expect(commonNamePrefix(['Medallion-dev-Freshness'])).toBe('');
  });
});
