/**
 * The Redshift Serverless gold construct's usage guardrails (createUsageGuardrails): the usage limit made
 * through the API, the daily cost alarm, and the limit they refuse.
 */
import type { RedshiftServerlessGoldProps } from '../../../lib/gold/redshift-serverless';
import { logicalId } from '../../support/cdk';
import { build, getAtt, only, sdkCall } from '../../support/cdk-redshift-gold';

describe('the usage guardrails, defaults', () => {
  const { stack, gold, t } = build();
  const ref = (token: unknown) => stack.resolve(token);

  test('a daily usage limit of 16 RPU-hours that emits a metric, updated in place, deleted with the stack', () => {
    const workgroup = logicalId(t, 'AWS::RedshiftServerless::Workgroup', 'RedshiftWorkgroup');
    expect(sdkCall(t, 'RedshiftUsageLimitdaily', 'Create')).toEqual({
      service: 'redshift-serverless',
      action: 'CreateUsageLimit',
      parameters: {
        resourceArn: `<${workgroup}.Workgroup.WorkgroupArn>`,
        usageType: 'serverless-compute',
        amount: 16,
        period: 'daily',
        breachAction: 'emit-metric',
      },
      physicalResourceId: { responsePath: 'usageLimit.usageLimitId' },
    });
    expect(sdkCall(t, 'RedshiftUsageLimitdaily', 'Update')).toMatchObject({
      action: 'UpdateUsageLimit',
      parameters: { usageLimitId: 'PHYSICAL:RESOURCEID:', amount: 16, breachAction: 'emit-metric' },
    });
    expect(sdkCall(t, 'RedshiftUsageLimitdaily', 'Delete')).toMatchObject({
      action: 'DeleteUsageLimit',
      parameters: { usageLimitId: 'PHYSICAL:RESOURCEID:' },
    });
  });

  test('the cost alarm sums the workgroup ComputeSeconds per day against 12 RPU-hours and says what to do', () => {
    const alarm = only(t, 'AWS::CloudWatch::Alarm', 'RedshiftComputeRpuHours').Properties;
    expect(alarm).toMatchObject({
      Namespace: 'AWS/Redshift-Serverless',
      MetricName: 'ComputeSeconds',
      Dimensions: [{ Name: 'Workgroup', Value: 'lake-gold' }],
      Statistic: 'Sum',
      Period: 86400,
      Threshold: 12 * 3600,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(alarm.AlarmDescription).toMatch(/more than 12 RPU-hours in a day.*What to do: /);
    expect(alarm.AlarmDescription.length).toBeLessThanOrEqual(1024);
    expect(alarm.AlarmActions).toBeUndefined();
    expect(ref(gold.costAlarm.alarmArn)).toEqual(getAtt(t, 'AWS::CloudWatch::Alarm', 'Redshift', 'Arn'));
  });
});

describe('the usage guardrails refuse what Redshift Serverless would refuse', () => {
  test.each([[{ usageLimitRpuHours: 0.5 }, 'must be a whole number of RPU-hours']] as [
    Partial<RedshiftServerlessGoldProps>,
    string,
  ][])('%j fails synth', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
