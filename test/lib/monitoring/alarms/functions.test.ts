/** Function alarms (error rate, throttles, duration near the timeout): in the composed stack, then alone. */
import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import {
  addFunctionAlarms,
  durationAlarmId,
  TIMEOUT_SHARE,
} from '../../../../lib/monitoring/alarms/functions';
import { logicalId } from '../../../support/cdk';
import { alarmNamed, alarmsAlone } from '../../../support/cdk-alarms-alone';
import { expression, mathMetrics, synthesizeComposedStack } from '../../../support/cdk-composed-stack';

const { t, alarm } = synthesizeComposedStack();

const FUNCTIONS = {
  IngestApi: { prefix: 'IngestApiHandlerFunction', timeoutSeconds: 60 },
  Landing: { prefix: 'BronzeToSilverLandingFunction', timeoutSeconds: 300 },
  Transform: { prefix: 'BronzeToSilverTransformFunction', timeoutSeconds: 900 },
};
const fnRef = (name: keyof typeof FUNCTIONS) => ({
  Ref: logicalId(t, 'AWS::Lambda::Function', FUNCTIONS[name].prefix),
});

describe('the function alarms of the composed stack', () => {
  test('ErrorRate-Transform: errors / invocations above 5% in 2 of 3 five-minute periods', () => {
    const a = alarm('ErrorRate-Transform');
    expect(a).toMatchObject({
      Threshold: 0.05,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
    });
    expect(expression(a)).toBe('IF(invocations > 0, errors / invocations, 0)');
    const m = mathMetrics(a);
    for (const [id, name] of [
      ['errors', 'Errors'],
      ['invocations', 'Invocations'],
    ]) {
      expect(m[id]).toEqual({
        Metric: {
          Namespace: 'AWS/Lambda',
          MetricName: name,
          Dimensions: [{ Name: 'FunctionName', Value: fnRef('Transform') }],
        },
        Period: 300,
        Stat: 'Sum',
      });
    }
  });

  test.each(Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[])(
    'Throttles and DurationNearTimeout (p99 over 80%% of the timeout) of %s',
    (name) => {
      const dims = [{ Name: 'FunctionName', Value: fnRef(name) }];
      expect(alarm(`Throttles-${name}`)).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Throttles',
        Dimensions: dims,
        Statistic: 'Sum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
      expect(alarm(`DurationNearTimeout-${name}`)).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Duration',
        Dimensions: dims,
        ExtendedStatistic: 'p99',
        Threshold: FUNCTIONS[name].timeoutSeconds * 1000 * 0.8,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    },
  );
});

describe('addFunctionAlarms alone', () => {
  const fn = (scope: Construct, id: string, timeout?: Duration) =>
    new lambda.Function(scope, id, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {}'),
      timeout,
    });

  test('the duration alarm is DurationNearTimeout-<name>, at 80% of the timeout', () => {
    expect(durationAlarmId('Fn')).toBe('DurationNearTimeout-Fn');
    expect(TIMEOUT_SHARE).toBe(0.8);
  });

  test("without a timeout, Lambda's 3 s default: the duration alarm is at 2400 ms; no error rate asked, none made", () => {
    const { stack, alarms, template } = alarmsAlone();
    addFunctionAlarms(alarms, { name: 'Fn', function: fn(stack, 'Fn'), layer: 'silver' });
    expect(Object.keys(alarms.byId)).toEqual(['Throttles-Fn', 'DurationNearTimeout-Fn']);
    expect(alarmNamed(template(), 'DurationNearTimeout-Fn').Threshold).toBe(2400);
    expect(alarmNamed(template(), 'DurationNearTimeout-Fn').AlarmDescription).toContain(
      'exceeded 80% of its 3 s timeout (2400 ms)',
    );
  });

  test('an error rate alarm when asked, its share in the description', () => {
    const { stack, alarms, template } = alarmsAlone();
    addFunctionAlarms(alarms, {
      name: 'Fn',
      function: fn(stack, 'Fn', Duration.seconds(10)),
      layer: 'silver',
      maxErrorRate: 0.125,
    });
    expect(Object.keys(alarms.byId)).toEqual(['ErrorRate-Fn', 'Throttles-Fn', 'DurationNearTimeout-Fn']);
    expect(alarmNamed(template(), 'ErrorRate-Fn')).toMatchObject({ Threshold: 0.125 });
    expect(alarmNamed(template(), 'ErrorRate-Fn').AlarmDescription).toMatch(
      /^More than 12\.5% of the invocations/,
    );
  });

  test.each([-0.1, 1, 2])('refuses an error rate of %s', (maxErrorRate) => {
    const { stack, alarms } = alarmsAlone();
    expect(() =>
      addFunctionAlarms(alarms, { name: 'Fn', function: fn(stack, 'Fn'), layer: 'silver', maxErrorRate }),
    ).toThrow('maxErrorRate of Fn must be in [0, 1)');
  });
});
