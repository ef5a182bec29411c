/** Gold alarms (freshness SLO, failed workflow runs): in the composed stack, then alone. */
import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { addFreshnessAlarm, addGoldWorkflowAlarm } from '../../../../lib/monitoring/alarms/gold';
import { alarmNamed, alarmsAlone } from '../../../support/cdk-alarms-alone';
import {
  expression,
  GOLD_STATE_MACHINE_ARN,
  mathMetrics,
  synthesizeComposedStack,
} from '../../../support/cdk-composed-stack';

const { alarm } = synthesizeComposedStack();

describe('the gold alarms of the composed stack', () => {
  test('Freshness: no GoldPublished within the (default) 120-minute SLO, missing data breaching', () => {
    const a = alarm('Freshness');
    expect(a).toMatchObject({
      Namespace: 'Medallion',
      MetricName: 'GoldPublished',
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 24,
      DatapointsToAlarm: 24,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    // The gold workflow publishes it without dimensions.
    expect(a.Dimensions).toBeUndefined();
  });

  test('GoldWorkflowFailures: failed plus timed-out executions of the state machine', () => {
    const a = alarm('GoldWorkflowFailures');
    expect(a).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(expression(a)).toBe('FILL(failed, 0) + FILL(timedOut, 0)');
    const m = mathMetrics(a);
    expect(m.failed.Metric).toEqual({
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Dimensions: [{ Name: 'StateMachineArn', Value: GOLD_STATE_MACHINE_ARN }],
    });
    expect((m.timedOut.Metric as { MetricName: string }).MetricName).toBe('ExecutionsTimedOut');
  });
});

describe('the gold alarms alone', () => {
  test('a two-day SLO is watched in hourly periods, and the description gives it in minutes', () => {
    const { alarms, template } = alarmsAlone();
    addFreshnessAlarm(alarms, Duration.days(2));
    expect(alarmNamed(template(), 'Freshness')).toMatchObject({
      Period: 3600,
      EvaluationPeriods: 48,
      DatapointsToAlarm: 48,
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
    expect(alarmNamed(template(), 'Freshness').AlarmDescription).toMatch(
      /^No gold publication \(metric Medallion\/GoldPublished\) in the last 2880 minutes, the freshness SLO/,
    );
  });

  test('an SLO CloudWatch cannot evaluate fails synth', () => {
    const { alarms } = alarmsAlone();
    expect(() => addFreshnessAlarm(alarms, Duration.days(8))).toThrow(/cannot be alarmed on/);
  });

  test('the workflow alarm is GoldWorkflowFailures, on the given state machine', () => {
    const { stack, alarms, template } = alarmsAlone();
    const failures = addGoldWorkflowAlarm(
      alarms,
      sfn.StateMachine.fromStateMachineArn(stack, 'Sm', GOLD_STATE_MACHINE_ARN),
    );
    expect(alarms.byId.GoldWorkflowFailures).toBe(failures);
    expect(mathMetrics(alarmNamed(template(), 'GoldWorkflowFailures')).failed.Metric).toMatchObject({
      Dimensions: [{ Name: 'StateMachineArn', Value: GOLD_STATE_MACHINE_ARN }],
    });
    expect(expression(alarmNamed(template(), 'GoldWorkflowFailures'))).toBe(
      'FILL(failed, 0) + FILL(timedOut, 0)',
    );
  });
});
