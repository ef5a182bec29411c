/** The metric factories: the statistic and period of each series, and the freshness window. */
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as metrics from '../../../lib/monitoring/pipeline-metrics';
import { testContext } from '../../support/cdk';

const { freshnessWindow } = metrics;

describe('freshnessWindow', () => {
  test.each([
    [60, 5, 12],
    [90, 5, 18],
    [7, 1, 7],
    [1440, 5, 288],
    [2880, 60, 48],
  ])('an SLO of %i minutes: %i-minute periods, %i of them', (minutes, periodMinutes, n) => {
    const w = freshnessWindow(Duration.minutes(minutes));
    expect(w.period.toMinutes()).toBe(periodMinutes);
    expect(w.evaluationPeriods).toBe(n);
  });

  test('refuses windows CloudWatch cannot evaluate', () => {
    expect(() => freshnessWindow(Duration.minutes(1441))).toThrow(/cannot be alarmed on/);
    expect(() => freshnessWindow(Duration.days(8))).toThrow(/cannot be alarmed on/);
    expect(() => freshnessWindow(Duration.seconds(90))).toThrow();
  });
});

describe('the series', () => {
  const stack = new Stack(new App({ context: testContext() }), 'Metrics');
  const fn = new lambda.Function(stack, 'Fn', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {}'),
  });
  const queue = new sqs.Queue(stack, 'Queue');
  const stateMachine = sfn.StateMachine.fromStateMachineArn(
    stack,
    'Sm',
    'arn:aws:states:eu-west-1:111111111111:stateMachine:gold',
  );

  test('counts are summed and gauges maximized, per five minutes unless told otherwise', () => {
    for (const m of [metrics.lambdaInvocations(fn), metrics.lambdaErrors(fn), metrics.lambdaThrottles(fn)]) {
      expect([m.statistic, m.period.toSeconds()]).toEqual(['Sum', 300]);
    }
    for (const m of [metrics.queueDepth(queue), metrics.queueOldestMessageAge(queue)]) {
      expect([m.statistic, m.period.toSeconds()]).toEqual(['Maximum', 300]);
    }
    expect(metrics.queueDepth(queue).metricName).toBe('ApproximateNumberOfMessagesVisible');
    expect(metrics.queueOldestMessageAge(queue, Duration.minutes(1)).period.toSeconds()).toBe(60);
    expect([
      metrics.lambdaDurationSum(fn).statistic,
      metrics.lambdaDurationSum(fn).period.toSeconds(),
    ]).toEqual(['Sum', 86400]);
    expect(metrics.lambdaDurationP99(fn).statistic).toBe('p99');
  });

  test('the ratios are 0 in periods without a denominator, over metrics of the same period', () => {
    const errorRate = metrics.lambdaErrorRate(fn, Duration.minutes(1));
    expect(errorRate.expression).toBe('IF(invocations > 0, errors / invocations, 0)');
    expect(errorRate.label).toBe('error rate');
    expect(errorRate.period.toSeconds()).toBe(60);
    expect(Object.keys(errorRate.usingMetrics)).toEqual(['errors', 'invocations']);
    const ratio = metrics.quarantineRatio('orders');
    expect(ratio.expression).toBe('IF(rowsIn > 0, quarantined / rowsIn, 0)');
    expect(ratio.label).toBe('orders quarantine ratio');
    expect(Object.keys(ratio.usingMetrics)).toEqual(['rowsIn', 'quarantined']);
  });

  test('state machine failures add the failed and the timed-out executions', () => {
    const failures = metrics.stateMachineFailures(stateMachine);
    expect(failures.expression).toBe('FILL(failed, 0) + FILL(timedOut, 0)');
    expect(failures.period.toSeconds()).toBe(300);
    const failed = failures.usingMetrics.failed as unknown as { metricName: string; statistic: string };
    expect([failed.metricName, failed.statistic]).toEqual(['ExecutionsFailed', 'Sum']);
  });

  test('custom metrics: namespace Medallion, summed; per dataset with the Dataset dimension', () => {
    const m = metrics.datasetMetric('RowsIn', 'orders');
    expect([m.namespace, m.metricName, m.statistic, m.dimensions]).toEqual([
      'Medallion',
      'RowsIn',
      'Sum',
      { Dataset: 'orders' },
    ]);
    expect(metrics.goldPublished().dimensions).toBeUndefined();
    expect(metrics.athenaProcessedBytes('wg').dimensions).toEqual({ WorkGroup: 'wg' });
  });
});
